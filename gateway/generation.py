"""A generations request checked and turned into what the pipeline is asked for.

One place for the rules of ``POST /v1/images/generations`` (template, prompt
length, model, size or ratio, count, output, extras), so a batch's prompts are
checked exactly as single requests are, when the batch is submitted and again
when each one runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import Settings
from gateway.errors import InvalidRequest
from gateway.fitting import Output
from gateway.image_options import (
    MAX_TEXT,
    Extras,
    check_count,
    check_extras,
    check_output,
    ratio_size,
    requested_size,
    styled_prompt,
)
from gateway.pipeline import ImagePipeline
from gateway.prompt import ParsedPrompt
from gateway.schemas import ImageGenerationRequest
from gateway.templates import Templates, filled

MAX_IMAGES = 8
MIN_PROMPT = 3


@dataclass(frozen=True, slots=True)
class Generation:
    model: str
    idea: str
    """The user's prompt as given (inside the template's, when one applies)."""
    parsed: ParsedPrompt
    n: int
    extras: Extras
    output: Output


def planned(
    body: ImageGenerationRequest, *, settings: Settings, pipeline: ImagePipeline, templates: Templates
) -> Generation:
    """``body`` checked (an InvalidRequest naming the field when not) and planned."""
    body = filled(body, templates.chosen(body.template_id, body.template, body.model))
    prompt = body.prompt.strip()
    if len(prompt) < MIN_PROMPT:
        raise InvalidRequest(f"prompt must be at least {MIN_PROMPT} characters", param="prompt")
    if len(prompt) > MAX_TEXT:
        raise InvalidRequest(f"prompt is longer than {MAX_TEXT} characters", param="prompt")
    model = body.model or settings.default_image_model or pipeline.router.models[0]
    size = requested_size(body.size, multiple=pipeline.size_multiple(model))
    if size is None:
        size = ratio_size(body.aspect_ratio, settings.aspect_ratios) if body.aspect_ratio else settings.default_size
    return Generation(
        model=model,
        idea=prompt,
        parsed=ParsedPrompt(styled_prompt(prompt, body.style, body.background), size[0], size[1]),
        n=check_count(body.n, most=MAX_IMAGES),
        extras=check_extras(body),
        output=check_output(size[0], size[1], body.output_format, body.output_compression),
    )
