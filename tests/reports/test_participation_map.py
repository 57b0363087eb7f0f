"""The participation map (handlers/reports/participation_map.py): bags as tiles by soum.

The layout is checked as numbers (one tile per bag, inside the image, no two overlapping);
the drawing is checked as drawn: every text of a tile is measured by matplotlib's renderer
and must lie inside its tile, with the longest bag names of the country. The PNG is read
back with Pillow.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import pytest
from matplotlib.text import Text
from PIL import Image

from handlers.reports.data import ParticipationRow
from handlers.reports.participation_map import (
    COLOURS,
    DPI,
    MAX_WIDTH,
    NAME_LINES,
    NAME_PT,
    NO_ROUND,
    PAD,
    TILE_H,
    TILE_W,
    MapLayout,
    figure,
    fit_lines,
    layout,
    legend_items,
    participation_png,
    turnout_class,
)
from storage.units import packaged_units_csv

YEAR = 2028


def _units() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(packaged_units_csv().lstrip("\ufeff"))))


def _bag(code: str, name: str, voted: int, registered: int, held: bool = True) -> ParticipationRow:
    status = "submitted" if held else "-"
    return ParticipationRow(code, name, "bag", YEAR, status, registered, voted, 3, 3, {})


def _total(code: str, name: str, level: str, rows: list[ParticipationRow]) -> ParticipationRow:
    registered = sum(r.registered for r in rows)
    voted = sum(r.voted for r in rows)
    return ParticipationRow(code, name, level, YEAR, "-", registered, voted, 0, 0, {})


def _rows_of(aimag: str) -> list[ParticipationRow]:
    """Rows as handlers/reports/data.participation gives them for a real aimag: each soum's
    bags (real names), the soum, then the aimag; turnouts spread over every class, and one
    bag in seven held no vote."""
    units = _units()
    name = next(u["name"] for u in units if u["code"] == aimag)
    soums = [u for u in units if u["level"] == "soum" and u["parent_code"] == aimag]
    bags_of: dict[str, list[dict[str, str]]] = defaultdict(list)
    for u in units:
        if u["level"] == "bag":
            bags_of[u["parent_code"]].append(u)
    rows: list[ParticipationRow] = []
    soum_rows = []
    i = 0
    for s in soums:
        bags = []
        for b in bags_of[s["code"]]:
            i += 1
            registered = 200 + 37 * (i % 11)
            bags.append(_bag(b["code"], b["name"], registered * (i % 10) // 9, registered,
                             held=i % 7 != 0))  # fmt: skip
        rows += bags
        soum_rows.append(_total(s["code"], s["name"], "soum", bags))
        rows.append(soum_rows[-1])
    rows.append(_total(aimag, name, "aimag", soum_rows))
    return rows


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _check_layout(plan: MapLayout, rows: list[ParticipationRow]) -> None:
    bags = [r for r in rows if r.level == "bag"]
    assert [t.code for t in plan.tiles] == [b.code for b in bags]  # one tile per bag, in order
    assert len(plan.blocks) == sum(1 for r in rows if r.level == "soum")
    boxes = [(t.x, t.y, t.w, t.h) for t in plan.tiles]
    assert all(x >= 0 and y >= 0 and x + w <= plan.width and y + h <= plan.height
               for x, y, w, h in boxes)  # fmt: skip
    assert not any(_overlap(a, b) for a, b in combinations(boxes, 2))
    for block in plan.blocks:  # each bag in its soum's block
        for t in block.tiles:
            assert block.x <= t.x
            assert t.x + t.w <= block.x + block.w
            assert block.y < t.y
            assert t.y + t.h <= block.y + block.h
        assert block.tiles
        assert all(t.code.startswith(block.code) for t in block.tiles)
    # Letters never shrink: a tile is the same size however many soums there are.
    assert {(t.w, t.h) for t in plan.tiles} == {(TILE_W, TILE_H)}


def _texts_inside_tiles(plan: MapLayout, lang: str = "mn") -> int:
    """Draw the layout; every text of a tile lies inside its tile (as drawn, in pixels)."""
    fig = figure(plan, lang)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    height = plan.height
    tiles = {t.code: t for t in plan.tiles}
    checked = 0
    for text in fig.findobj(Text):
        gid = text.get_gid()
        if not gid or not gid.startswith("text:") or not text.get_text():
            continue
        tile = tiles[gid.removeprefix("text:")]
        box = text.get_window_extent(renderer)  # pixels from the bottom left
        top, bottom = height - box.y1, height - box.y0
        assert tile.x <= box.x0, (tile.code, text.get_text())
        assert box.x1 <= tile.x + tile.w, (tile.code, text.get_text())
        assert tile.y <= top, (tile.code, text.get_text())
        assert bottom <= tile.y + tile.h, (tile.code, text.get_text())
        checked += 1
    # The soums' headings: inside the image, clear of each other.
    headings = [
        t.get_window_extent(renderer)
        for t in fig.findobj(Text)
        if (t.get_gid() or "").startswith("block:")
    ]
    assert len(headings) == len(plan.blocks)
    for box in headings:
        assert box.x0 >= 0
        assert box.x1 <= plan.width
        assert box.y0 >= 0
        assert box.y1 <= height
    for a, b in combinations(headings, 2):
        assert not a.overlaps(b), (a, b)
    return checked


def test_a_soum_is_one_block_of_its_bags(tmp_path: Path) -> None:
    bags = [_bag("644651", "1-р баг, Баянбулаг", 8, 9), _bag("644653", "2-р баг, Баян-Улаан", 6, 7),
            _bag("644655", "3-р баг, Чандмань-Овоо", 0, 7),
            _bag("644657", "4-р баг, Залаа-Овоо", 0, 5, held=False)]  # fmt: skip
    rows = [*bags, _total("6446", "Заг", "soum", bags)]
    plan = layout(rows)
    _check_layout(plan, rows)
    assert plan.title == "Заг, 2028: санал хураалтын оролцоо, багаар"
    assert plan.subtitle == "Санал өгсөн 14 / 28 (50%)"
    assert plan.blocks[0].title == "Заг: 14/28 (50%)"
    assert [t.turnout_class for t in plan.tiles] == [4, 4, 0, None]
    assert plan.tiles[3].turnout is None  # no vote held: grey, not "0%"
    assert _texts_inside_tiles(plan) == 3 * 3 + 2  # name, %, voted/registered; name, dash

    data = participation_png(rows, tmp_path / "map.png")
    assert (tmp_path / "map.png").read_bytes() == data
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.format == "PNG"
        assert img.size == (plan.width, plan.height)
        colours = {c for _, c in img.getcolors(maxcolors=1 << 16) or []}
    # The tiles' colours are in the picture: top class, bottom class, no vote held.
    for hex_colour in (COLOURS[4], COLOURS[0], NO_ROUND):
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert any(c[:3] == rgb for c in colours), hex_colour


@pytest.mark.parametrize("aimag", ["41", "11"])
def test_an_aimag_stays_legible(aimag: str) -> None:
    """Töv (27 soums, the most) and Ulaanbaatar (171 khoroos, a district of 43):
    tiles keep their size, the image grows downwards within a fixed width, every text
    stays inside its tile."""
    rows = _rows_of(aimag)
    plan = layout(rows)
    _check_layout(plan, rows)
    assert plan.width <= MAX_WIDTH
    assert 3 <= plan.columns <= 6
    soums = [r for r in rows if r.level == "soum"]
    assert [b.code for b in plan.blocks] == [r.code for r in soums]  # in code order
    for block, soum in zip(plan.blocks, soums, strict=True):
        assert block.title.startswith(soum.name) or block.title.endswith("…"), block.title
    assert _texts_inside_tiles(plan) >= 2 * len(plan.tiles)
    with Image.open(io.BytesIO(participation_png(rows, None, "en"))) as img:
        assert img.size == (plan.width, plan.height)
        # At most 2000 px wide; an officer's slide scales it, the letters stay 9 pt or more.
        assert img.size[0] <= MAX_WIDTH
        assert NAME_PT * DPI / 72 >= 12


def test_long_names_are_wrapped_and_shortened_to_the_tile() -> None:
    width = TILE_W - 2 * PAD
    names = sorted((u["name"] for u in _units() if u["level"] == "bag"), key=len)[-40:]
    for name in [*names, "3-р баг, Могой /Рэнчинжугнай/", "Ш" * 60, "Баруунбаян-Улаан " * 4]:
        lines = fit_lines(name, width, NAME_PT)
        assert 1 <= len(lines) <= NAME_LINES, (name, lines)
        joined = " ".join(lines)
        if joined.endswith("…"):  # shortened: what is shown starts the name
            assert name.replace(" ", "").startswith(joined[:-1].replace(" ", "")), (name, lines)
        else:
            assert joined.replace(" ", "") == name.replace(" ", ""), (name, lines)
    assert fit_lines("3-р баг, Могой /Рэнчинжугнай/", width, NAME_PT) == (
        "3-р баг, Могой",
        "/Рэнчинжугнай/",
    )
    # Drawn: a block of the longest names, each text inside its tile.
    bags = [_bag(f"9901{i:02d}", n, 5, 9) for i, n in enumerate([*names, "Ш" * 60])]
    rows = [*bags, _total("9901", "Баруунбаян-Улаан", "soum", bags)]
    assert _texts_inside_tiles(layout(rows)) == 3 * len(bags)


def test_classes_follow_the_percentage_shown() -> None:
    # 19.96% reads 20%: its tile is in the 20-40 class, as its number says (39.99%: 40-60).
    assert [turnout_class(x) for x in (0.0, 0.1996, 0.2, 0.3999, 0.8, 1.0, 1.2, None)] == [
        0, 1, 1, 2, 4, 4, 4, None,
    ]  # fmt: skip
    texts = [t for _, t in legend_items("mn")]
    assert texts == ["0–20%", "20–40%", "40–60%", "60–80%", "80–100%", "санал хураалт болоогүй"]


def test_a_soum_without_any_vote_says_so() -> None:
    bags = [_bag("640151", "1-р баг, Номгон", 0, 120, held=False)]
    rows = [*bags, _total("6401", "Баянхонгор", "soum", bags)]
    plan = layout(rows, "en")
    assert plan.blocks[0].title == "Баянхонгор: no vote held"
    assert plan.tiles[0].turnout is None
