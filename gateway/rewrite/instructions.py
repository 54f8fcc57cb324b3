"""What the rewriting LLM is told: one system prompt per mode, and worked examples.

These are product text. The fast prompt asks for the prompt and nothing else;
the reasoning prompt lets the model plan inside ``<think>…</think>`` first, and
its examples show that shape. Both turn an idea in any language into one
English paragraph of comma-separated phrases, 30 to 50 words, because that is
what FLUX, SDXL and their kin follow best.

A follow-up in a chat ("make it a watercolor", "without the boat") is a change
to the previous picture: the model gets the previous prompt and the request,
under the same rules, and writes the whole new prompt.
"""

from __future__ import annotations

from typing import Literal

Mode = Literal["fast", "reasoning"]

RULES = """\
Rules for the prompt:
- Write in English, whatever language the idea is in. Keep names, brands and any text that must appear in the \
picture exactly as given, in double quotes.
- One paragraph of comma-separated phrases, 30 to 50 words, no line breaks, no lists, no hashtags.
- Order: the main subject and what it is doing first; then the medium or style (photograph, oil painting, \
3D render, anime illustration, watercolor...); then the setting and composition; then, when they help, \
lighting, colour palette and mood.
- Keep everything the user asked for, including counts, colours, positions and style words. Add concrete visual \
detail; never change the subject or add a second one.
- If the idea already names a style or medium, keep it; if it names none, choose the one that suits the idea.
- Describe only what can be seen. No camera brand names, no "4k, 8k, masterpiece, best quality" filler, \
no negative phrases ("no people"); say what is there instead.
- Never mention the picture's size or aspect ratio; that is handled elsewhere.
- If the idea is unsafe to depict, describe a tasteful, harmless version of it."""

FAST = f"""\
You turn a short picture idea into a prompt for a text-to-image model.

{RULES}

Answer with the prompt only: no title, no "Prompt:", no quotes around it, no explanation."""

REASONING = f"""\
You turn a short picture idea into a prompt for a text-to-image model.

First think inside <think></think>: what the user literally asked for, what they probably mean, which medium and \
style fit, what the setting, composition and light should be, and which details must not be lost. Keep the \
thinking short, a few sentences.

{RULES}

After </think>, answer with the prompt only: no title, no "Prompt:", no quotes around it, no explanation."""

EXAMPLES: list[tuple[str, str, str]] = [
    # (idea, thinking, prompt)
    (
        "a cat on a roof",
        "A cat on a rooftop; no style given, so a warm photograph reads best. Evening light over tiles gives mood. "
        "Keep one cat, clearly on the roof.",
        "a ginger tabby cat sitting on the ridge of a terracotta tile roof, looking over the town, photograph, "
        "shallow depth of field, chimneys and rooftops fading into the distance, warm golden hour light, "
        "soft glowing sky, calm and content mood",
    ),
    (
        "赛博朋克风格的雨夜街道，一个撑伞的女孩",
        "Chinese: a rainy night street in cyberpunk style, a girl holding an umbrella. The style is given: cyberpunk. "
        "Neon reflections on wet ground and a lone figure make the composition.",
        "a young woman holding a transparent umbrella walking down a narrow street at night, cyberpunk style, "
        "digital illustration, glowing neon signs in pink and cyan, rain falling, reflections on wet asphalt, "
        "steam rising from vents, seen from behind, moody cinematic atmosphere",
    ),
    (
        'logo for a coffee shop called "Moonbean", minimal',
        "A minimal logo with the exact name Moonbean as text. Flat vector, simple shapes, a moon and a coffee bean "
        "could merge. Plain background.",
        "minimal flat vector logo for a coffee shop, a crescent moon merging with a coffee bean, the word "
        '"Moonbean" in clean rounded sans-serif lettering below, two colours, deep navy and cream, centered on a '
        "plain cream background, balanced negative space",
    ),
    (
        "Drei Äpfel auf einem Holztisch, Ölgemälde",
        "German: three apples on a wooden table, oil painting. Keep exactly three apples and the oil painting "
        "medium; a classic still life with side light.",
        "three red and yellow apples on a worn wooden table, classic still life oil painting, visible brushstrokes, "
        "a folded linen cloth and a dark background, soft window light from the left, rich warm earthy colours, "
        "quiet and timeless mood",
    ),
]


CHANGE_TASK = """\
You change the prompt of a picture a text-to-image model has just made, as the user asks. You get the previous \
prompt and the user's request; write the whole new prompt.

- Keep the subject, the composition and every detail the request does not change; apply the change the request \
asks for (a style or medium, a time of day, something added, removed, moved or recoloured, a mood).
- A new style, medium, time or setting replaces the old one; it is not added next to it.
- Something to remove is left out of the new prompt entirely, not described as absent.
- If the request is not a change but a different picture altogether, write a prompt for it alone."""

CHANGE_FAST = f"""\
{CHANGE_TASK}

{RULES}

Answer with the new prompt only: no title, no "Prompt:", no quotes around it, no explanation."""

CHANGE_REASONING = f"""\
{CHANGE_TASK}

First think inside <think></think>: what the request changes, what must stay, and how the new prompt should read. \
Keep the thinking short, a few sentences.

{RULES}

After </think>, answer with the new prompt only: no title, no "Prompt:", no quotes around it, no explanation."""

CHANGE_EXAMPLES: list[tuple[str, str, str, str]] = [
    # (previous prompt, request, thinking, new prompt)
    (
        EXAMPLES[0][2],
        "make it a watercolor painting",
        "Same cat on the same roof at golden hour; the medium changes from photograph to watercolor, so the "
        "photographic terms go.",
        "a ginger tabby cat sitting on the ridge of a terracotta tile roof, looking over the town, loose watercolor "
        "painting, soft washes and paper texture, chimneys and rooftops fading into the distance, warm golden hour "
        "light, calm and content mood",
    ),
    (
        EXAMPLES[1][2],
        "no umbrella, and make it snow",
        "Keep the woman, the street, the night and the cyberpunk style; drop the umbrella entirely and turn the rain "
        "into snow.",
        "a young woman in a long coat walking down a narrow street at night, cyberpunk style, digital illustration, "
        "glowing neon signs in pink and cyan, snow falling, neon reflected in slushy asphalt, steam rising from "
        "vents, seen from behind, moody cinematic atmosphere",
    ),
    (
        EXAMPLES[3][2],
        "füge eine schwarze Katze hinzu",
        "German: add a black cat. Keep the three apples, the table and the oil painting; the cat sits beside them.",
        "three red and yellow apples on a worn wooden table, a black cat sitting beside them and watching, classic "
        "still life oil painting, visible brushstrokes, a folded linen cloth and a dark background, soft window "
        "light from the left, rich warm earthy colours",
    ),
]


def system_prompt(mode: Mode) -> str:
    return REASONING if mode == "reasoning" else FAST


def change_request(previous: str, request: str) -> str:
    """What the model reads for one change: the previous prompt, then the user's request."""
    return f"Previous prompt: {previous}\nRequest: {request}"


def change_conversation(mode: Mode, previous: str, request: str) -> list[dict[str, str]]:
    """The messages sent for a change to the previous picture: its own instructions and worked examples."""
    messages = [{"role": "system", "content": CHANGE_REASONING if mode == "reasoning" else CHANGE_FAST}]
    for example_previous, example_request, thinking, prompt in CHANGE_EXAMPLES:
        answer = f"<think>{thinking}</think>\n{prompt}" if mode == "reasoning" else prompt
        messages += [
            {"role": "user", "content": change_request(example_previous, example_request)},
            {"role": "assistant", "content": answer},
        ]
    messages.append({"role": "user", "content": change_request(previous, request)})
    return messages


def conversation(mode: Mode, idea: str) -> list[dict[str, str]]:
    """The messages sent for one idea: the system prompt, the worked examples as turns, then the idea."""
    messages = [{"role": "system", "content": system_prompt(mode)}]
    for example_idea, thinking, prompt in EXAMPLES:
        answer = f"<think>{thinking}</think>\n{prompt}" if mode == "reasoning" else prompt
        messages += [{"role": "user", "content": example_idea}, {"role": "assistant", "content": answer}]
    messages.append({"role": "user", "content": idea})
    return messages
