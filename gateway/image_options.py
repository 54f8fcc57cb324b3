"""The request fields that shape an image, checked once for the images API and the chat shortcuts.

Every bad value is a 400 that names its ``param``: ``size`` ("WxH" or "auto",
sides 256-2048 in the vendor's multiple), ``n``, ``aspect_ratio`` ("16:9" or
"16x9"), ``steps``, ``seed``, ``guidance``, ``negative_prompt``,
``response_format``; and ``style``/``background`` build the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Protocol

from gateway.errors import InvalidRequest
from gateway.fitting import Output
from gateway.prompt import MAX_SIDE, MIN_SIDE, Size, size_for_ratio

SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×*]\s*(\d{1,5})\s*$", re.IGNORECASE)
RATIO = re.compile(r"^\s*(\d{1,3})\s*[:：x×/]\s*(\d{1,3})\s*$", re.IGNORECASE)
MAX_RATIO_SPREAD = 4.0
MAX_STEPS = 150
MAX_SEED = 2**32 - 1
MAX_GUIDANCE = 50.0
MAX_TEXT = 32_000
RESPONSE_FORMATS = ("url", "b64_json")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
REWRITE_HEADER = "x-imagegate-rewrite"
REWRITE_OFF = frozenset({"off", "false", "0", "no", "none"})


@dataclass(frozen=True, slots=True)
class Extras:
    """Optional knobs passed to vendors that take them (and noted in the log where ignored)."""

    seed: int | None = None
    steps: int | None = None
    negative_prompt: str | None = None
    guidance: float | None = None

    def given(self) -> frozenset[str]:
        return frozenset(f.name for f in fields(self) if getattr(self, f.name) is not None)


def requested_size(raw: str | None, *, multiple: int) -> Size | None:
    """``"1024x576"`` -> (1024, 576); None for absent or ``"auto"``; anything else is a 400 on ``size``."""
    if raw is None or raw.strip().lower() in ("", "auto"):
        return None
    match = SIZE.match(raw)
    if match is None:
        raise InvalidRequest(f"size '{raw}' is not WIDTHxHEIGHT (like 1024x576) or 'auto'", param="size")
    width, height = int(match.group(1)), int(match.group(2))
    for side in (width, height):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise InvalidRequest(f"size '{raw}': each side must be {MIN_SIDE} to {MAX_SIDE} pixels", param="size")
        if side % multiple:
            raise InvalidRequest(
                f"size '{raw}': this model's vendors need sides that are multiples of {multiple}", param="size"
            )
    return width, height


def ratio_size(raw: str, ratios: Mapping[str, Size]) -> Size:
    """``"16:9"`` or ``"16x9"`` -> the ratio table's size (or about a megapixel in that shape)."""
    match = RATIO.match(raw)
    if match is None or 0 in (int(match.group(1)), int(match.group(2))):
        raise InvalidRequest(f"aspect_ratio '{raw}' is not like 16:9 or 16x9", param="aspect_ratio")
    width_part, height_part = int(match.group(1)), int(match.group(2))
    if max(width_part, height_part) / min(width_part, height_part) > MAX_RATIO_SPREAD:
        raise InvalidRequest(f"aspect_ratio '{raw}' is wider than 4:1", param="aspect_ratio")
    return size_for_ratio(width_part, height_part, ratios)


def check_count(n: int, *, most: int) -> int:
    if not 1 <= n <= most:
        raise InvalidRequest(f"n must be 1 to {most}, not {n}", param="n")
    return n


class ExtraFields(Protocol):
    """A request body carrying the extras (the images API's and the chat shortcuts' share the names)."""

    @property
    def seed(self) -> int | None: ...

    @property
    def steps(self) -> int | None: ...

    @property
    def negative_prompt(self) -> str | None: ...

    @property
    def guidance(self) -> float | None: ...


def check_extras(body: ExtraFields) -> Extras:
    seed, steps, negative_prompt, guidance = body.seed, body.steps, body.negative_prompt, body.guidance
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise InvalidRequest(f"seed must be 0 to {MAX_SEED}", param="seed")
    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise InvalidRequest(f"steps must be 1 to {MAX_STEPS}", param="steps")
    if guidance is not None and not 0 <= guidance <= MAX_GUIDANCE:
        raise InvalidRequest(f"guidance must be 0 to {MAX_GUIDANCE:g}", param="guidance")
    if negative_prompt is not None and len(negative_prompt) > MAX_TEXT:
        raise InvalidRequest(f"negative_prompt is longer than {MAX_TEXT} characters", param="negative_prompt")
    negative = negative_prompt.strip() if negative_prompt else ""
    return Extras(seed, steps, negative or None, guidance)


def check_response_format(raw: str | None) -> str:
    value = raw or "url"
    if value not in RESPONSE_FORMATS:
        raise InvalidRequest(f"response_format must be 'url' or 'b64_json', not '{raw}'", param="response_format")
    return value


def check_output(width: int, height: int, output_format: str | None, compression: int | None) -> Output:
    """The result's size and OpenAI's ``output_format`` (png, jpeg, webp) and ``output_compression`` (0-100)."""
    name = (output_format or "").strip().lower().replace("jpg", "jpeg") or None
    if name is not None and name not in OUTPUT_FORMATS:
        raise InvalidRequest(f"output_format must be png, jpeg or webp, not '{output_format}'", param="output_format")
    if compression is not None and not 0 <= compression <= 100:
        raise InvalidRequest("output_compression must be 0 to 100", param="output_compression")
    return Output(width, height, name, compression)  # type: ignore[arg-type]


def check_strength(strength: float | None) -> float | None:
    if strength is not None and not 0 <= strength <= 1:
        raise InvalidRequest("strength must be 0 to 1", param="strength")
    return strength


def styled_prompt(prompt: str, style: str | None, background: str | None) -> str:
    """``PROMPT in a STYLE style with a background of BACKGROUND`` (either part may be absent)."""
    text = prompt.strip()
    if style and style.strip():
        text += f" in a {style.strip()} style"
    if background and background.strip():
        text += f" with a background of {background.strip()}"
    return text


def rewrite_wanted(body_flag: bool | None, headers: Mapping[str, str]) -> bool:
    """Rewriting is off for ``"rewrite": false`` in the body or ``X-Imagegate-Rewrite: off``."""
    return body_flag is not False and headers.get(REWRITE_HEADER, "").strip().lower() not in REWRITE_OFF
