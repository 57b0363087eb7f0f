"""Pages of whole rows that fit the reader's SMS budget.

A list or a ranked result that cannot fit one SMS is split into pages of whole rows: a row
is never cut (a cut "10 сая" reads "1…"), and page N+1 starts at the row after the last row
of page N, so paging never skips one. The budget depends on the reader's script: Cyrillic
is UCS-2 (70 characters in one segment, 67 per segment when split), Latin GSM-7 (160/153),
so pages are built from the texts rendered in the reader's language. The same reader asking
for the same page of the same data always gets the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.core.sms_segments import count_segments
from handlers.context import Text
from handlers.delivery import compose

# A catalog text for the page's header, given the page number and the number of pages.
HeadFor = Callable[[int, int], Sequence[Text]]


def words_short(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters at a word boundary, with "…".

    Never inside a word or a number; a first word longer than the limit is kept whole
    (a row a little long is better than one that says something else)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if text[limit - 1] == " ":  # the cut falls between two words: keep the last one
        return cut.rstrip(" ,;:.-") + "…"
    space = cut.rfind(" ")
    if space <= 0:
        first = text.split(" ", 1)[0]
        return first + "…" if first != text else text
    return cut[:space].rstrip(" ,;:.-") + "…"


def paginate(
    head: HeadFor,
    rows: Sequence[Text],
    more: Callable[[int], Text],
    lang: str,
    max_segments: int | None,
    *,
    tail: Sequence[Text] = (),
    max_rows: int | None = None,
) -> list[list[Text]]:
    """All pages: each ``head(page, pages)``, whole rows, then ``more(next)`` (or ``tail`` on
        the last page). ``max_segments`` None means no budget (Telegram); ``max_rows`` caps the
    rows of a page even so (a list of 5 with its buttons).

        A row that alone does not fit with the header still gets a page of its own (the delivery
        cap then shortens that one message); callers shorten row texts so that never happens.
    """
    if not rows:
        return [[*head(1, 1), *tail]]
    if max_segments is None and max_rows is None:
        return [[*head(1, 1), *rows, *tail]]
    # Pack with the widest page numbers the header can show (pages <= rows), so the final
    # header, rendered with the real count, is never longer than the one measured.
    widest = len(rows)

    def fits(parts: Sequence[Text]) -> bool:
        if max_segments is None:
            return True
        return count_segments(compose(parts, lang)).segments <= max_segments

    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(rows):
        end = start + 1  # at least one row per page: paging always moves on
        while end < len(rows) and (max_rows is None or end - start < max_rows):
            trial = [*head(widest, widest), *rows[start : end + 1]]
            last = end + 1 == len(rows)
            trial.extend(tail if last else [more(widest)])
            if not fits(trial):
                break
            end += 1
        spans.append((start, end))
        start = end
    pages = len(spans)
    out: list[list[Text]] = []
    for i, (a, b) in enumerate(spans, start=1):
        page = [*head(i, pages), *rows[a:b]]
        page.extend(tail if i == pages else [more(i + 1)])
        out.append(page)
    return out


# Text lengths tried in turn when a page of one row does not fit (SANAL_MAX_SEGMENTS=1).
ROW_LIMITS = (40, 32, 24, 16, 10)


def fitted_pages(
    head: HeadFor,
    make_rows: Callable[[int], Sequence[Text]],
    more: Callable[[int], Text],
    lang: str,
    max_segments: int | None,
    *,
    first_limit: int,
    tail: Sequence[Text] = (),
    max_rows: int | None = None,
) -> list[list[Text]]:
    """:func:`paginate` with rows built by ``make_rows(text_limit)``: the longest texts (up
    to ``first_limit``) with which every page fits, so no row is left to the delivery cap."""
    limits = [first_limit, *(x for x in ROW_LIMITS if x < first_limit)]
    pages: list[list[Text]] = []
    for limit in limits:
        pages = paginate(
            head, make_rows(limit), more, lang, max_segments, tail=tail, max_rows=max_rows
        )
        if max_segments is None or all(
            count_segments(compose(page, lang)).segments <= max_segments for page in pages
        ):
            break
    return pages


def budget(is_sms: bool, max_segments: int) -> int | None:
    """The segment budget of a reply on this channel: None where the channel splits itself."""
    return max_segments if is_sms else None
