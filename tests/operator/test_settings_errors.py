"""A wrong setting, as an operator meets it: one line naming the variable they typed (not
pydantic's four lines naming a Python field) and what is allowed; a misspelt SANAL_*
variable warned about instead of silently ignored; SANAL_PUBLIC_URL https only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from bot.cli import main
from bot.core.settings import Settings, explain, known_variables, unknown_variables
from tests.faults.serve import PREFIXES, command


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the .env read is the test's own
    for name in list(os.environ):
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SANAL_BALLOT_KEY", "operator-test-key")
    return tmp_path


def sanal(*args: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SANAL_PORT": "80x"}, "SANAL_PORT='80x': must be a whole number from 0 to 65535"),
        ({"SANAL_PORT": "70000"}, "SANAL_PORT='70000': must be a whole number from 0 to 65535"),
        ({"SANAL_MAX_CHOICES": "0"}, "SANAL_MAX_CHOICES='0': must be a whole number from 1 to 50"),
        ({"SANAL_SIMULATOR": "maybe"}, "SANAL_SIMULATOR='maybe': must be one of auto, on, off"),
        ({"SANAL_RESULTS_TO_ALL": "perhaps"}, "SANAL_RESULTS_TO_ALL='perhaps': must be true or"),
        ({"SANAL_QUIET_END": "25:00"}, "SANAL_QUIET_END='25:00': must be a time of day"),
        ({"SANAL_BACKUP_KEEP": "0"}, "SANAL_BACKUP_KEEP='0': must be a whole number, 1 or more"),
        (
            {"SANAL_STOP_TIMEOUT_SECONDS": "0"},
            "SANAL_STOP_TIMEOUT_SECONDS='0': must be a number above 0, at most 600",
        ),
        ({"SANAL_SMS_PROVIDER": "twillio"}, "SANAL_SMS_PROVIDER='twillio': must be sim, twilio"),
        ({"SANAL_MEETING_REMINDERS": "3d,2x"}, "'2x' is not a reminder offset"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    folder: Path, env: dict[str, str], expected: str
) -> None:
    code, out, err = sanal("official", "list", "--db", str(folder / "s.db"), **env)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("Error: "), err
    assert expected in err
    assert "validation error" not in err
    assert "pydantic" not in err
    assert not (folder / "s.db").exists()  # refused before anything is opened


def test_several_bad_values_and_where_each_was_set(folder: Path) -> None:
    (folder / ".env").write_text("SANAL_PORT=abc\nSANAL_FLOOD_THRESHOLD=0\n")
    code, _, err = sanal("migrate", SANAL_FLOOD_THRESHOLD="many")
    assert code == 1
    assert err.count("\n") == 1
    # The environment wins over .env (pydantic-settings' order): named as such.
    assert "SANAL_PORT='abc' (in .env): must be a whole number" in err
    assert "SANAL_FLOOD_THRESHOLD='many': must be a whole number, 1 or more" in err


def test_an_option_is_named_as_typed(folder: Path) -> None:
    code, _, err = sanal("serve", "--port", "70000", "--db", str(folder / "s.db"))
    assert code == 1
    assert err == "Error: --port 70000: must be a whole number from 0 to 65535\n"


def test_a_secret_is_never_shown(folder: Path) -> None:
    code, _, err = sanal("official", "list", SANAL_SIMULATOR_TOKEN="tooshort-secret")
    assert code == 1
    assert err == (
        "Error: SANAL_SIMULATOR_TOKEN: must be at least 16 characters (openssl rand -hex 16)\n"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://sanal.example.mn",
        "https://sanal.example.mn/",
        "https://10.0.0.5:8443/sanal",
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
    ],
)
def test_public_url_https_or_loopback(url: str) -> None:
    settings = Settings(_env_file=None, public_url=url)  # type: ignore[call-arg]
    assert settings.public_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://sanal.example.mn",
        "http://192.168.1.20:8080",
        "sanal.example.mn",
        "https://",
        "ftp://x",
    ],
)
def test_public_url_refused_with_the_rule(folder: Path, url: str) -> None:
    code, _, err = sanal("official", "list", SANAL_PUBLIC_URL=url)
    assert code == 1
    assert err.count("\n") == 1
    assert f"SANAL_PUBLIC_URL='{url}': must start with https://" in err
    assert "http:// is allowed only for localhost and 127.0.0.1" in err


def test_an_empty_public_url_is_no_public_url() -> None:
    assert Settings(_env_file=None, public_url="").public_url is None  # type: ignore[call-arg]


def test_a_misspelt_variable_is_warned_about_with_the_closest_name(folder: Path) -> None:
    (folder / ".env").write_text("SANAL_BACKUP_INTERVALL_HOURS=3\nTWILIO_SOMETHING=1\n")
    code, out, err = sanal(
        "official",
        "list",
        "--db",
        str(folder / "s.db"),
        SANAL_MAXCHOICES="4",
        SANAL_TELEGRAM_TOKEN="x",
        SANAL_WHATEVER="1",
        SANAL_SOAK="1",  # the test suite's own knob: not a misspelling
    )
    assert code == 0
    assert out == "no officials yet\n"
    assert err.splitlines() == [
        "Warning: SANAL_MAXCHOICES is not a Sanal setting and is ignored; "
        "did you mean SANAL_MAX_CHOICES?",
        "Warning: SANAL_TELEGRAM_TOKEN is not a Sanal setting and is ignored; "
        "did you mean SANAL_TELEGRAM_BOT_TOKEN?",
        "Warning: SANAL_WHATEVER is not a Sanal setting and is ignored",
        "Warning: SANAL_BACKUP_INTERVALL_HOURS (in .env) is not a Sanal setting and is "
        "ignored; did you mean SANAL_BACKUP_INTERVAL_HOURS?",
    ]


def test_every_setting_is_known_by_its_documented_name() -> None:
    known = known_variables()
    assert {"SANAL_PORT", "SANAL_PUBLIC_URL", "TELEGRAM_BOT_TOKEN", "TWILIO_AUTH_TOKEN"} <= known
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    import re

    documented = set(re.findall(r"`((?:SANAL|TWILIO|TELEGRAM)_[A-Z_]+)`", readme))
    assert documented - known == set(), "README names variables that set nothing"
    assert unknown_variables(dict.fromkeys(documented, "1"), {}) == []


def test_explain_without_the_environment() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, max_segments=0)  # type: ignore[call-arg]
    line = explain(raised.value, environ={}, env_file={})
    assert line == "SANAL_MAX_SEGMENTS='0': must be a whole number from 1 to 10"
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, twilio_rate_per_second=0)  # type: ignore[call-arg]
    used = {"SANAL_TWILIO_RATE_PER_SECOND": "0"}
    assert explain(raised.value, environ=used, env_file={}) == (
        "SANAL_TWILIO_RATE_PER_SECOND='0': must be a number above 0"
    )


def test_the_installed_command_prints_one_line(tmp_path: Path) -> None:
    """The real script, in a clean environment: stderr is that one line, exit code 1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(SANAL_PORT="http", SANAL_BALLOT_KEY="k" * 16)
    done = subprocess.run(
        [*command()[:-1], "serve", "--db", str(tmp_path / "s.db")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr == "Error: SANAL_PORT='http': must be a whole number from 0 to 65535\n"
    assert done.stdout == ""


def test_a_env_file_in_another_encoding(folder: Path) -> None:
    (folder / ".env").write_bytes(
        "SANAL_PORT=80\nSANAL_LATIN_WRITER_LANG=монгол\n".encode("cp1251")
    )
    code, _, err = sanal("official", "list")
    assert code == 1
    assert err == "Error: .env: not UTF-8 text\n"
