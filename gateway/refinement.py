"""Whether a new chat message changes the previous picture, asks for it again, or starts a new one; and, without
an LLM, how the change is merged into the previous prompt.

The boundary, checked in this order on the message with its size words
already taken out (the first rule that holds decides):

1. No earlier picture in the conversation: **new**.
2. Nothing left but a size ("16:9", "1280x720"): **refine**, the same prompt at that size.
3. Only a repeat word ("again", "another one", "regenerate", "再来一张"): **again**, the same prompt and
   size with a new seed. A repeat word followed by more ("another one but at night") is a **refine** with a
   new seed.
4. Only shape words ("wider", "portrait", "make it square"): **refine**, the same prompt in that shape.
5. It opens like a new description, with a drawing verb and a thing ("draw a dog", "generate an image
   of a lighthouse") or an article or count ("a cat on a sofa", "two owls"), and does not point back at the
   picture ("it", "the same", "this one", "version"): **new**.
6. It opens with an edit word ("make", "add", "without", "at", "in", "now", "but", "more"…): **refine**.
7. It points back at the picture anywhere: **refine**.
8. Three words or fewer (six characters in scripts written without spaces): **refine** ("watercolor",
   "cyberpunk style", "at dusk" are changes far more often than whole new ideas).
9. Anything else, a full description of its own: **new**.

The cue words cover English and a few common words of German, French, Spanish, Italian, Portuguese, Chinese and
Japanese; in any language, a short message is a change (rule 8) and the rewriting LLM, when configured, writes
the new prompt from the previous one and the change in whatever language it was asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["new", "refine", "again"]


def word_set(text: str) -> frozenset[str]:
    """The words of a space-separated list, as a set."""
    return frozenset(text.split())


Shape = Literal["wider", "taller", "square", "portrait", "landscape", "widescreen"]

FILLERS = (
    "please", "pls", "ok", "okay", "now", "so", "then", "hmm", "hey", "great", "nice", "cool", "thanks", "thank you",
    "can you", "could you", "would you", "will you", "i want", "i'd like", "i would like", "let's", "lets", "also",
    "bitte", "jetzt", "s'il te plaît", "maintenant", "por favor", "ahora", "adesso", "agora", "请", "现在",
)  # fmt: skip
AGAIN = (
    "again", "one more", "one more time", "once more", "another", "another one", "another version",
    "another take", "another variation", "another try", "try again", "do it again", "draw it again", "regenerate",
    "retry", "redo", "reroll", "re-roll", "more", "a different one", "different one", "same again", "a variation",
    "variation", "new seed", "same prompt", "nochmal", "noch einmal", "noch eins", "encore", "encore une",
    "une autre", "otra", "otra vez", "de nuevo", "ancora", "un'altra", "mais uma", "de novo", "ещё", "еще раз",
    "再来一张", "再来", "再画一张", "换一张", "重新生成", "もう一枚", "もう一度",
)  # fmt: skip
SHAPES: dict[str, Shape] = {
    "wider": "wider", "wide": "wider", "taller": "taller", "tall": "taller", "narrower": "taller",
    "widescreen": "widescreen", "panorama": "widescreen", "cinematic": "widescreen",
    "landscape": "landscape", "horizontal": "landscape", "portrait": "portrait", "vertical": "portrait",
    "square": "square", "quadratisch": "square", "carré": "square", "cuadrado": "square",
    "更宽": "wider", "横版": "landscape", "竖版": "portrait", "方形": "square",
}  # fmt: skip
SHAPE_FILLER = word_set(
    "make it a an the same but version format one more bit give me show turn into in as picture image please"
)
DRAWING_VERBS = (
    "draw", "paint", "generate", "create", "make", "render", "imagine", "sketch", "design", "show me", "give me",
    "i want", "picture", "image", "photo", "zeichne", "male", "erstelle", "dessine", "génère", "crée", "dibuja",
    "genera", "crea", "disegna", "desenhe",
)  # fmt: skip
OPENERS = word_set(
    "a an some two three four five six seven eight nine ten several many one 1 2 3 4 5 6 7 8 9 "
    "ein eine einen zwei drei un une deux trois des una dos tres unos unas uno due tre um uma"
)
EDIT_WORDS = word_set(
    "make turn change add remove put give replace swap switch use set keep zoom move place let color colour "
    "recolor with without no not but and plus in at on as during under from into instead more less too bigger "
    "smaller larger closer farther further darker brighter lighter warmer cooler same only just maybe style "
    "mach mache füge entferne ohne mit als aber noch "
    "fais rends ajoute enlève sans avec mais en "
    "hazlo haz añade quita sin con pero "
    "fallo rendilo aggiungi togli senza "
    "faça adicione sem"
)
POINTERS = re.compile(
    r"\b(?:it|this|this one|that one|them|him|same|the (?:picture|image|photo|scene|drawing|painting|background|"
    r"sky|colou?rs|lighting|light|style|one)|version|variation)\b",
    re.IGNORECASE,
)
POINTER_REACH = 6
"""A description that opens like a new one is a change only if it points back within its first few words."""
CJK_POINTERS = (
    "它", "这张", "那张", "改成", "变成", "换成", "加上", "加个", "去掉", "删掉", "不要", "更",
    "にして", "変えて", "を追加", "を消して",
)  # fmt: skip
CJK_NEW = ("画一", "画个", "生成一", "一只", "一个", "一幅", "一张")
WORD = re.compile(r"[\w'’-]+")
EDGE_PUNCTUATION = " \t\n,.;:!?。！？，、…\"'“”"
SHORT_WORDS = 3
SHORT_CHARS = 6
UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True, slots=True)
class Reading:
    """How a message relates to the previous picture, and the change it asks for."""

    kind: Kind
    change: str
    """The words of the change (refine), the whole idea (new), or nothing (again)."""
    reason: str
    """Which rule decided, for the log."""
    shape: Shape | None = None
    fresh_seed: bool = False
    """A refine that asked for another take ("another one but at night"): the seed is not kept."""


def read_message(text: str, *, has_previous: bool, sized: bool) -> Reading:
    """Classify ``text`` (size words already removed; ``sized`` says a size was given) by the rules above."""
    if not has_previous:
        return Reading("new", text, "no earlier picture")
    words = _without_fillers(text)
    lowered = words.lower()
    if not lowered:
        return Reading("refine", "", "size only") if sized else Reading("again", "", "nothing but a repeat")
    again = _leading_phrase(lowered, AGAIN)
    if again is not None:
        rest = _without_fillers(words[len(again) :].lstrip(" ,:;-"))
        rest = re.sub(r"^(?:but|and|with|aber|mais|pero|ma)\b\s*", "", rest, flags=re.IGNORECASE)
        if not rest:
            return Reading("again", "", f"repeat word '{again}'")
        return Reading("refine", rest, f"repeat word '{again}' with a change", fresh_seed=True)
    shape = _shape_only(lowered)
    if shape is not None:
        return Reading("refine", "", f"shape '{shape}'", shape=shape)
    points_back = bool(POINTERS.search(lowered)) or any(cue in words for cue in CJK_POINTERS)
    first = _first_word(lowered)
    points_back_early = bool(POINTERS.search(" ".join(WORD.findall(lowered)[:POINTER_REACH])))
    if not points_back_early and (_opens_new_description(lowered) or any(lowered.startswith(c) for c in CJK_NEW)):
        return Reading("new", words, "opens a new description")
    if first in EDIT_WORDS:
        return Reading("refine", words, f"opens with the edit word '{first}'")
    if points_back:
        return Reading("refine", words, "points back at the picture")
    if _is_short(words):
        return Reading("refine", words, "short: a change, not a whole idea")
    return Reading("new", words, "a full description of its own")


def _without_fillers(text: str) -> str:
    """``text`` without leading courtesy and filler words ("ok, now please …") or edge punctuation."""
    text = text.strip(EDGE_PUNCTUATION)
    while True:
        found = _leading_phrase(text.lower(), FILLERS)
        if found is None:
            return text
        text = text[len(found) :].strip(EDGE_PUNCTUATION)


def _leading_phrase(lowered: str, phrases: tuple[str, ...]) -> str | None:
    """The longest of ``phrases`` that ``lowered`` starts with, as a whole word (or CJK phrase), if any."""
    best: str | None = None
    for phrase in phrases:
        if lowered.startswith(phrase) and (best is None or len(phrase) > len(best)):
            after = lowered[len(phrase) : len(phrase) + 1]
            if not after or not (after.isalnum() or after in "'’") or UNSPACED.match(phrase[-1]):
                best = phrase
    return best


def _shape_only(lowered: str) -> Shape | None:
    words = WORD.findall(lowered)
    shapes = {SHAPES[word] for word in words if word in SHAPES}
    shapes |= {shape for cue, shape in SHAPES.items() if UNSPACED.match(cue[0]) and cue in lowered}
    if len(shapes) > 1:  # "a tall portrait version": the named shape says more than the step
        shapes -= {"wider", "taller"}
    if len(shapes) != 1:
        return None
    if all(word in SHAPES or word in SHAPE_FILLER for word in words):
        return shapes.pop()
    return None


def _first_word(lowered: str) -> str:
    match = WORD.match(lowered)
    return match.group() if match else ""


def _opens_new_description(lowered: str) -> bool:
    """A drawing verb then a thing ("draw a dog", "generate an image of…"), or an article or count first."""
    words = WORD.findall(lowered)
    if not words:
        return False
    if words[0] in OPENERS:
        return True
    verb = _leading_phrase(lowered, DRAWING_VERBS)
    if verb is None:
        return False
    rest = WORD.findall(lowered[len(verb) :])
    rest = rest[1:] if rest[:1] == ["me"] else rest
    return bool(rest) and rest[0] in OPENERS | {"of"}


def _is_short(words: str) -> bool:
    if UNSPACED.search(words) and len(words.split()) <= 1:
        return len(words) <= SHORT_CHARS
    return len(WORD.findall(words)) <= SHORT_WORDS


# The deterministic merge (no LLM): the previous prompt, what the change takes away, then the change.
LEAD_IN = re.compile(
    r"^(?:(?:the\s+)?same(?:\s+(?:scene|picture|image|one|thing))?\s*,?\s*but\s+|but\s+|"
    r"(?:make|turn|change|render|redo|draw|paint|show|do|transform|convert)\s+"
    r"(?:it|this(?:\s+one)?|that(?:\s+one)?|them|the\s+(?:picture|image|photo|scene|same\s+scene|same)|the\s+same)"
    r"(?:\s+(?:look\s+like|looks\s+like|into|to|in|as|like|look))?\s+)",
    re.IGNORECASE,
)
ADDING = re.compile(r"^(?:add|put|place|include|plus|give\s+(?:it|him|her|them))\s+", re.IGNORECASE)
CONJUNCTION = re.compile(r"^(?:and|also|then)\s+", re.IGNORECASE)
REMOVING = re.compile(
    r"^(?:without|no|remove|delete|take\s+out|get\s+rid\s+of|lose|drop|ohne|entferne|sans|enlève|sin|quita|"
    r"senza|togli|sem|去掉|删掉|不要)\s*(?:the\s+|a\s+|an\s+|any\s+|all\s+|den\s+|die\s+|das\s+|le\s+|la\s+|les\s+|"
    r"el\s+|los\s+|las\s+|il\s+|lo\s+)?(?P<thing>.+)$",
    re.IGNORECASE,
)
# The look-behind makes a run of white space a candidate only where it starts: linear, not quadratic, in the run.
TRAILING_POINTER = re.compile(
    r"(?<!\s)\s+(?:on|to|in|from|of)\s{1,3}(?:it|them|him|her|the\s{1,3}(?:picture|image|scene))$", re.I
)
MEDIUMS = (
    "photograph", "photo", "photorealistic", "watercolor", "watercolour", "oil painting", "acrylic", "painting",
    "pencil", "sketch", "charcoal", "ink", "drawing", "anime", "manga", "cartoon", "comic", "3d render", "render",
    "pixel art", "illustration", "vector", "low poly", "clay", "lego", "origami", "ukiyo-e", "impressionist",
    "pop art", "art nouveau", "cyberpunk", "steampunk", "claymation", "stained glass", "mosaic", "embroidery",
)  # fmt: skip
TIMES = (
    "night", "midnight", "dusk", "dawn", "sunset", "sunrise", "twilight", "golden hour", "blue hour", "noon",
    "midday", "morning", "evening", "afternoon", "daylight", "daytime", "moonlight", "moonlit", "starry",
)  # fmt: skip
LONGEST_WORD = 40
STEPS = ("9:16", "2:3", "3:4", "1:1", "4:3", "3:2", "16:9", "21:9")
"""Shapes from tallest to widest: "wider" moves one step right, "taller" one step left."""
SEASONS = ("winter", "summer", "autumn", "fall", "spring", "snow", "snowy")


def merge(previous: str, change: str) -> str:
    """The previous prompt changed by ``change``: what it removes or replaces dropped, then the change added."""
    change = change.strip(EDGE_PUNCTUATION)
    fragments = [part.strip() for part in previous.split(",") if part.strip()]
    removed = REMOVING.match(change)
    if removed:
        thing = TRAILING_POINTER.sub("", removed["thing"].strip(EDGE_PUNCTUATION))
        return ", ".join(_without_thing(fragments, thing)) or previous
    change = CONJUNCTION.sub("", TRAILING_POINTER.sub("", LEAD_IN.sub("", change)))
    change = ADDING.sub("with ", change).strip(EDGE_PUNCTUATION)
    if not change:
        return previous
    for vocabulary in (MEDIUMS, TIMES, SEASONS):
        if _mentions(change, vocabulary):
            fragments = [part for part in fragments if not _mentions(part, vocabulary)] or fragments
    return ", ".join([*fragments, change])


def reshaped(width: int, height: int, shape: Shape) -> str:
    """The ratio a shape word asks for: one step wider or taller than the previous picture, or a named shape.

    "portrait" and "landscape" keep a picture that already has that shape.
    """
    ratio = width / height
    named = {"square": "1:1", "widescreen": "16:9", "portrait": "3:4", "landscape": "4:3"}
    if shape in ("portrait", "landscape") and (ratio < 1) == (shape == "portrait") and ratio != 1:
        return min(STEPS, key=lambda step: abs(_value(step) - ratio))
    if shape in named:
        return named[shape]
    if shape == "wider":
        return next((step for step in STEPS if _value(step) > ratio + 0.01), STEPS[-1])
    return next((step for step in reversed(STEPS) if _value(step) < ratio - 0.01), STEPS[0])


def _value(ratio: str) -> float:
    width, _, height = ratio.partition(":")
    return int(width) / int(height)


def _without_thing(fragments: list[str], thing: str) -> list[str]:
    """The fragments without the ``thing`` named: a whole fragment about it, or the "with a …" phrase inside one."""
    head = WORD.findall(thing.lower())[-1:]
    if not head or len(head[0]) > LONGEST_WORD:  # nothing nameable: leave the prompt as it is
        return fragments
    noun = re.escape(head[0].rstrip("s"))
    # Bounded words and gaps: at each start the pattern reads a few dozen characters at most, so it stays linear.
    determiner = r"(?:a|an|the|some|two|three|its|his|her|their)\s{1,3}"
    phrase = re.compile(
        rf"(?:\b(?:with|and|holding|wearing|carrying|beside|next to|near|in|on|under|at|by)\s{{1,3}}(?:{determiner})?"
        rf"|\b{determiner})?(?:[\w-]{{1,{LONGEST_WORD}}}\s{{1,3}}){{0,2}}?\b{noun}(?:s|es)?\b",
        re.IGNORECASE,
    )
    kept: list[str] = []
    for fragment in fragments:
        if not phrase.search(fragment):
            kept.append(fragment)
            continue
        rest = " ".join(phrase.sub("", fragment, count=1).split()).strip(EDGE_PUNCTUATION)
        if rest and len(WORD.findall(rest)) >= 2 and rest != fragment:
            kept.append(rest)
    return kept


def _mentions(text: str, vocabulary: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in vocabulary)
