"""The text a chat UI's side request gets when no LLM answers it: built from the conversation, in the asked shape.

Titles keep the subject of the picture ("Red fox in the snow") and follow the
prompt's own rules: the word limit it names, an emoji only when it asks for
one and does not forbid it, title case when it says so. Tags name the subject,
the setting and the style. Follow-up suggestions are changes the gateway reads
as refinements of the picture, so clicking one changes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gateway.refinement import MEDIUMS, word_set

REQUEST_LEAD_IN = re.compile(
    r"^(?:(?:please|pls|can you|could you|would you|i want|i'd like|i would like|let's)\s+)*"
    r"(?:(?:draw|paint|generate|create|make|render|imagine|sketch|design|show|give|turn)(?:\s+(?:me|it|this|them))?"
    r"(?:\s+(?:into|look\s+like))?\s+)?"
    r"(?:(?:an?|the|some)\s+)?(?:(?:image|picture|photo|photograph|painting|drawing|illustration|render)\s+of\s+)?",
    re.IGNORECASE,
)
FILLER_WORDS = word_set(
    "a an the very highly ultra super detailed beautiful realistic photorealistic stunning amazing gorgeous "
    "hd 4k 8k masterpiece best quality high cute nice"
)
PREPOSITIONS = word_set("in on at under over with by near beside behind above below during through")
TRAILING_WORDS = PREPOSITIONS | frozenset({"a", "an", "the", "of", "and", "for", "to"})
WORD_LIMIT = re.compile(
    r"(?P<low>\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s*(?:-|–|to)\s*"
    r"(?P<high>\d+|two|three|four|five|six|seven|eight|nine|ten)[\s-]+words?"
    r"|(?P<most>\d+|five|ten)[\s-]+words?[\s-]+or[\s-]+less|within\s+(?P<within>\d+)\s+words"
    r"|maximum\s+(?P<maximum>\d+)\s+words",
    re.IGNORECASE,
)
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
ASKS_EMOJI = re.compile(r"\bwith an? emoji|\bone emoji|\bemojis? that", re.IGNORECASE)
FORBIDS_EMOJI = re.compile(r"(?:do not|don't|never|no|without|avoid)\s+(?:use\s+)?(?:any\s+)?emojis?", re.IGNORECASE)
TITLE_CASE = re.compile(r"title case", re.IGNORECASE)
UNSPACED_TITLE_CHARS = 10
DEFAULT_TITLE_WORDS = 5
FALLBACK_IDEA = "Image generation"
OTHER_MEDIUMS = (("watercolo", "a watercolor painting"), ("oil", "an oil painting"), ("pencil", "a pencil sketch"))
NIGHT_WORDS = ("night", "midnight", "moonlit", "moonlight", "starry")


def subject_of(idea: str) -> str:
    """The idea without the request around it or quality filler: "Please draw a very detailed red fox" -> "red fox"."""
    text = REQUEST_LEAD_IN.sub("", idea.strip())
    words = text.split()
    while words and words[0].lower().strip(",.;:") in FILLER_WORDS:
        words.pop(0)
    return " ".join(words) or idea.strip()


def title_of(idea: str, instructions: str = "") -> str:
    """A short title keeping the subject, shaped by the prompt's rules (word limit, emoji, title case)."""
    subject = subject_of(idea)
    words = subject.split()
    limit = word_limit(instructions)
    if len(words) == 1 and len(subject) > UNSPACED_TITLE_CHARS:  # a script written without spaces
        title = subject[:UNSPACED_TITLE_CHARS]
    else:
        kept = [word.strip(",.;:!?\"'()") for word in words[:limit]]
        while len(kept) > 1 and kept[-1].lower() in TRAILING_WORDS:
            kept.pop()
        title = " ".join(word for word in kept if word)
    title = title.strip(" ,.;:!?\"'") or FALLBACK_IDEA
    if TITLE_CASE.search(instructions):
        title = " ".join(
            word if word.lower() in TRAILING_WORDS else word[:1].upper() + word[1:] for word in title.split()
        )
    title = title[0].upper() + title[1:]
    wants_emoji = ASKS_EMOJI.search(instructions) and not FORBIDS_EMOJI.search(instructions)
    return f"🎨 {title}" if wants_emoji else title


def word_limit(instructions: str) -> int:
    """The most words the prompt allows a title ("2-4 words", "four to five word", "5-word-or-less"); else 5."""
    found = WORD_LIMIT.search(instructions)
    if found is None:
        return DEFAULT_TITLE_WORDS
    value = next(group for group in (found["high"], found["most"], found["within"], found["maximum"]) if group)
    limit = NUMBERS.get(value.lower()) or int(value)
    return max(1, min(limit, DEFAULT_TITLE_WORDS))


def tags_of(idea: str, prompt: str) -> list[str]:
    """A broad tag, then the style, the subject and the setting: ["Art", "Watercolor", "Red fox", "Snow"]."""
    subject = subject_of(idea)
    words = [word.strip(",.;:!?\"'()") for word in subject.split()]
    split = next((i for i, word in enumerate(words) if word.lower() in PREPOSITIONS), len(words))
    head = " ".join(words[:split][:3])
    setting = " ".join(w for w in words[split + 1 :][:3] if w.lower() not in TRAILING_WORDS)
    style = next((medium for medium in MEDIUMS if re.search(rf"\b{re.escape(medium)}\b", prompt.lower())), "")
    tags = ["Art", style, head, setting]
    return list(dict.fromkeys(tag[:1].upper() + tag[1:] for tag in tags if tag))


def follow_ups_for(prompt: str, *, wide: bool, asked: Sequence[str] = ()) -> list[str]:
    """Three changes the gateway reads as refinements (another medium, time of day, shape), none already asked."""
    lowered = prompt.lower()
    done = {text.strip().lower() for text in asked}
    medium = next(
        (f"Make it {name}" for word, name in OTHER_MEDIUMS if word not in lowered and f"make it {name}" not in done),
        "Make it a pencil sketch",
    )
    at_night = any(re.search(rf"\b{word}\b", lowered) for word in NIGHT_WORDS)
    time = "Show the same scene at sunrise" if at_night else "Show the same scene at night"
    shape = "Make it a tall portrait version" if wide else "Give me a 16:9 widescreen version"
    return [text for text in (medium, time, shape, "Another one") if text.lower() not in done][:3]


def merged_pictures(pictures: Sequence[str]) -> str:
    """Merge Responses: every picture the responses show, once each; no new picture is made."""
    unique = list(dict.fromkeys(pictures))
    return "\n\n".join(unique) if unique else "The responses hold no pictures to merge."


def image_note_answer(note: str) -> str:
    """What to say after a chat UI's own image tool ran: it made the picture, failed, or is turned off."""
    lowered = note.lower()
    if "disabled" in lowered:
        return "Image generation is turned off by the administrator, so no picture was made."
    if "failed" in lowered:
        error = note.split("error occurred:", 1)[-1].split("</context>", 1)[0].strip() if "occurred:" in note else ""
        return f"The picture could not be made: {error}" if error else "The picture could not be made."
    if "edited" in lowered:
        return "Here is the edited picture."
    return "Here is your picture."
