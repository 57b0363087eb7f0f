"""When the training simulator runs, and as whom it may write.

The simulator (page ``/``, ``/api/sim/messages``, ``sanal chat``) writes as any phone
number and reads any number's conversation. Where real people use Sanal that is a back
door: a governor's number opens a round, a citizen's number changes their ballot. So:

- **training**: no real channel (Twilio, Android, Telegram) is configured, and none has
  carried a message in this database. The simulator acts as any number.
- **guarded**: real channels are there, and the operator set ``SANAL_SIMULATOR_TOKEN``.
  Every request must carry the token, and the simulator acts only on numbers that are
  nobody's yet: never one that wrote or was written to through a real channel, is linked
  to Telegram, holds an official's role, or was made by anything but the simulator.
- **off**: real channels and no token, or ``SANAL_SIMULATOR=off``. The routes are not
  mounted (404) and ``sanal chat`` refuses.

When a token is set it is required in training too. The router checks every simulated
message again inside its own transaction, so a number that writes through a real channel
between the page's check and the handling is still refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.core.settings import Settings, configured_real_channels
from storage import people, roles
from storage.db import Tx
from storage.simulator import SIM, real_channels, real_history

TOKEN_HEADER = "X-Sanal-Simulator-Token"  # noqa: S105 - a header's name


class Mode(StrEnum):
    TRAINING = "training"
    GUARDED = "guarded"
    OFF = "off"


def _digest(token: str) -> bytes:
    # Hashing first makes the comparison constant-time in the length too.
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


@dataclass(frozen=True, slots=True)
class SimulatorGate:
    mode: Mode
    # The real channels configured or seen in the database: why it is guarded or off.
    real: tuple[str, ...] = ()
    token_digest: bytes | None = None

    @property
    def on(self) -> bool:
        return self.mode is not Mode.OFF

    def admits(self, presented: str | None) -> bool:
        """Whether a request carrying this token may use the simulator."""
        if self.token_digest is None:
            return True
        if not presented:
            return False
        return hmac.compare_digest(_digest(presented), self.token_digest)


def decide(settings: Settings, seen: Iterable[str] = ()) -> SimulatorGate:
    """The simulator's mode from the settings and the real channels seen in the database."""
    real = list(dict.fromkeys([*configured_real_channels(settings), *seen]))
    real.sort(key=real_channels().index)
    secret = settings.simulator_token
    digest = _digest(secret.get_secret_value()) if secret is not None else None
    if settings.simulator == "off":
        mode = Mode.OFF
    elif not real:
        mode = Mode.TRAINING
    else:
        mode = Mode.GUARDED if digest is not None else Mode.OFF
    return SimulatorGate(mode, tuple(real), digest)


def start_refusal(gate: SimulatorGate, settings: Settings, *, demo: bool) -> str | None:
    """The one line ``serve`` stops with, or None to start."""
    real = ", ".join(gate.real)
    if demo and settings.simulator == "off":
        return "--demo needs the simulator, and SANAL_SIMULATOR is off"
    if demo and gate.real:
        # The demo makes a governor and a round: never in a database real people use.
        return (
            f"--demo is for training, and this server has real channels ({real}): "
            "run it with another --db, SANAL_SMS_PROVIDER=sim and no TELEGRAM_BOT_TOKEN"
        )
    if settings.simulator == "on" and not gate.on:
        return (
            f"SANAL_SIMULATOR=on, but real channels ({real}) are configured or have written "
            "to this database: set SANAL_SIMULATOR_TOKEN (a training token), "
            "or SANAL_SIMULATOR=auto"
        )
    return None


def chat_refusal(gate: SimulatorGate, settings: Settings) -> str | None:
    """The one line ``sanal chat`` stops with, or None."""
    if gate.on:
        return None
    if settings.simulator == "off":
        return "the simulator is off (SANAL_SIMULATOR=off)"
    return (
        f"sanal chat is for training, and real channels ({', '.join(gate.real)}) are "
        "configured or have written to this database: set SANAL_SIMULATOR_TOKEN to train "
        "on numbers nobody uses"
    )


def off_notice(gate: SimulatorGate) -> str | None:
    """What ``serve`` says at start when the simulator is off because of real channels."""
    if gate.on or not gate.real:
        return None
    return (
        f"The simulator is off: real channels ({', '.join(gate.real)}). "
        "SANAL_SIMULATOR_TOKEN turns it on for training."
    )


def presented_token(headers: Mapping[str, str]) -> str | None:
    """The token a request carries: ``Authorization: Bearer ...`` or the own header."""
    own = headers.get(TOKEN_HEADER)
    if own:
        return own.strip()
    scheme, _, value = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def refusal(conn: Tx, gate: SimulatorGate, phone: str) -> str | None:
    """Why the simulator may not act as this number (E.164), or None when it may."""
    if not gate.on:
        return "the simulator is off"
    # Even in training: a second process with a real channel may share the database.
    if await real_history(conn, phone):
        return "this number is used through a real channel"
    if gate.mode is Mode.GUARDED:
        person = await people.by_phone(conn, phone)
        if person is not None and await roles.of_person(conn, person.id):
            return "an official's number cannot be used in the simulator"
        if person is not None and person.channel != SIM:
            # Made by an operator (official add) or another path: a real person's number.
            return "this number belongs to a person who has not used the simulator"
    return None
