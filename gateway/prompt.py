"""Reads the picture size out of a prompt: ``"a cat 16:9"`` -> ``("a cat", 1024, 576)``.

Understood, strongest first: ``--ar 16:9`` and ``aspect ratio 16:9``; explicit
sizes ``1280x720``; a bare ratio ``16:9`` / ``16：9``. A bare ratio mid-sentence
is taken only when it is in the ratio table and does not read as a clock time
("meet at 10:30 by the pier"); one outside the table must stand apart (at the
start or end, or in brackets). Only the recognised text is removed.

Every pattern here runs on user text of up to 32,000 characters on the event
loop, so each is written to take time linear in the text: no two unbounded
repeats that can trade characters, no search that restarts inside a run it
already scanned, and the look-around near a candidate ratio is a walk over
its neighbours, not a search of everything before it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

Size = tuple[int, int]

COLON = r"\s?[:：]\s?"
DIRECTIVE = re.compile(
    r"(?:--ar|--aspect(?:-ratio)?|\baspect[\s_-]?ratio)\s*(?:[:=]\s*)?(\d{1,3})\s?(?:[:：x×/])\s?(\d{1,3})\b",
    re.IGNORECASE,
)
EXPLICIT_SIZE = re.compile(r"(?<![\d.:])(\d{2,4})\s?[x×*]\s?(\d{2,4})(?![\d.:])(?:\s?px\b)?", re.IGNORECASE)
BARE_RATIO = re.compile(rf"(?<![\d.:：])(\d{{1,2}}){COLON}(\d{{1,2}})(?![\d.:：])")
CLOCK_AFTER = re.compile(r"(?:a\.?m\.?|p\.?m\.?|o'?clock|h\b|hrs?\b|uhr\b)", re.IGNORECASE)
CLOCK_WORDS = frozenset(
    {"at", "by", "until", "till", "til", "from", "around", "before", "after", "since", "to", "between", "and"}
)
OPENERS, CLOSERS = "([{", ")]}"
# The look-behind makes a run of white space a candidate only where it starts: linear, not quadratic, in the run.
SPACE_BEFORE_PUNCTUATION = re.compile(r"(?<!\s)\s+(?=[,;.!?])")
DANGLING_SEPARATOR = re.compile(r"[,;]\s*(?=[,;]|$)")
SPACE_RUN = re.compile(r"[ \t]{2,}")
# Ratios people write besides the table's; a clock-like one outside this set ("10:30") is read as a time.
COMMON_RATIOS = frozenset({"4:3", "3:4", "16:10", "10:16", "21:9", "9:21", "2:3", "3:2", "5:4", "4:5", "2:1", "1:2"})

RAW_PREFIX = re.compile(r"^\s*raw\s*[:：]\s*", re.IGNORECASE)
MIN_SIDE, MAX_SIDE, SIDE_STEP = 256, 2048, 64
MAX_RATIO_SPREAD = 4.0
REFERENCE_AREA = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParsedPrompt:
    """The prompt with the size words removed, and the size they asked for."""

    text: str
    width: int
    height: int
    ratio: str | None = None
    verbatim: bool = False
    """The user wrote ``raw:`` first: use the prompt as written, no rewriting."""
    sized: bool = False
    """The words named a size (a ratio or WxH); otherwise the size is the default."""


def parse_prompt(text: str, ratios: Mapping[str, Size], default: Size) -> ParsedPrompt:
    """The clean prompt and its size; the default size when the prompt names none."""
    verbatim = RAW_PREFIX.match(text)
    if verbatim:
        text = text[verbatim.end() :]
    for finder in (_directive, _explicit_size, _bare_ratio):
        found = finder(text, ratios)
        if found:
            (start, end), size, ratio = found
            return ParsedPrompt(_remove(text, start, end), size[0], size[1], ratio, bool(verbatim), sized=True)
    return ParsedPrompt(_tidy(text), default[0], default[1], verbatim=bool(verbatim))


def size_for_ratio(width_part: int, height_part: int, ratios: Mapping[str, Size]) -> Size:
    """The table's size for a ratio, else one of about 1024x1024's area with sides multiples of 64."""
    table_size = ratios.get(f"{width_part}:{height_part}")
    if table_size:
        return table_size
    aspect = width_part / height_part
    width = math.sqrt(REFERENCE_AREA * aspect)
    height = width / aspect
    return _fit_side(width), _fit_side(height)


def fit_size(width: int, height: int) -> Size:
    """An explicit size scaled to fit the sides vendors accept, keeping its proportions."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    scale = max(scale, MIN_SIDE / min(width, height)) if min(width, height) * scale < MIN_SIDE else scale
    if scale == 1.0:
        return width, height
    return min(MAX_SIDE, round(width * scale / 8) * 8), min(MAX_SIDE, round(height * scale / 8) * 8)


Found = tuple[tuple[int, int], Size, str | None]


def _directive(text: str, ratios: Mapping[str, Size]) -> Found | None:
    for match in DIRECTIVE.finditer(text):
        w, h = int(match.group(1)), int(match.group(2))
        if _plausible_ratio(w, h):
            return match.span(), size_for_ratio(w, h, ratios), f"{w}:{h}"
    return None


def _explicit_size(text: str, ratios: Mapping[str, Size]) -> Found | None:
    for match in EXPLICIT_SIZE.finditer(text):
        w, h = int(match.group(1)), int(match.group(2))
        if min(w, h) >= SIDE_STEP and max(w, h) / min(w, h) <= MAX_RATIO_SPREAD:
            return match.span(), fit_size(w, h), None
    return None


def _bare_ratio(text: str, ratios: Mapping[str, Size]) -> Found | None:
    lead = len(text) - len(text.lstrip(" ,;([{"))
    tail = len(text.rstrip(" ,;.!)]}"))
    for match in BARE_RATIO.finditer(text):
        w, h = int(match.group(1)), int(match.group(2))
        known = f"{w}:{h}" in ratios or f"{w}:{h}" in COMMON_RATIOS
        if not _plausible_ratio(w, h) or _reads_as_clock(text, match, known):
            continue
        start, end = match.span()
        if known or start <= lead or end >= tail or _enclosed(text, start, end):
            return _with_brackets(text, start, end), size_for_ratio(w, h, ratios), f"{w}:{h}"
    return None


def _plausible_ratio(w: int, h: int) -> bool:
    return w > 0 and h > 0 and max(w, h) / min(w, h) <= MAX_RATIO_SPREAD


def _reads_as_clock(text: str, match: re.Match[str], known_ratio: bool) -> bool:
    minutes = match.group(2)
    if CLOCK_AFTER.match(text, _skip_space(text, match.end())) or _word_before(text, match.start()) in CLOCK_WORDS:
        return True
    clock_like = len(minutes) == 2 and int(match.group(1)) <= 23 and int(minutes) <= 59
    return clock_like and (minutes.startswith("0") or not known_ratio)


def _skip_space(text: str, index: int) -> int:
    """The first index at or after ``index`` that is not white space."""
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _skip_space_back(text: str, index: int) -> int:
    """The index just after the last character before ``index`` that is not white space."""
    while index > 0 and text[index - 1].isspace():
        index -= 1
    return index


def _word_before(text: str, index: int) -> str:
    """The word that ends just before ``index`` (white space between allowed), lower-cased."""
    end = _skip_space_back(text, index)
    start = end
    while start > 0 and text[start - 1].isalpha() and end - start <= len("between"):
        start -= 1
    if start > 0 and text[start - 1].isalnum():
        return ""
    return text[start:end].lower()


def _enclosed(text: str, start: int, end: int) -> bool:
    """True when only white space separates the span from an opening and a closing bracket: ``( 16:9 )``."""
    left, right = _skip_space_back(text, start), _skip_space(text, end)
    return left > 0 and text[left - 1] in OPENERS and right < len(text) and text[right] in CLOSERS


def _with_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to the brackets that hold only it: ``(16:9)``."""
    if _enclosed(text, start, end):
        return _skip_space_back(text, start) - 1, _skip_space(text, end) + 1
    return start, end


def _remove(text: str, start: int, end: int) -> str:
    return _tidy(f"{text[:start].rstrip()} {text[end:].lstrip()}")


def _tidy(text: str) -> str:
    text = SPACE_BEFORE_PUNCTUATION.sub("", text)
    text = DANGLING_SEPARATOR.sub("", text)
    text = SPACE_RUN.sub(" ", text)
    return text.strip().strip(",;").strip()


def _fit_side(value: float) -> int:
    return min(MAX_SIDE, max(MIN_SIDE, round(value / SIDE_STEP) * SIDE_STEP))
