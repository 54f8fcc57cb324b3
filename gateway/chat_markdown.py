"""The Markdown a chat answer shows a picture in, written here and read back from the conversation later.

Each picture is ``![<prompt>](<link> "<W>x<H>, seed <S>")``: the alt text is
the prompt that made it (what a screen reader should say anyway) and the title
(a tooltip in every renderer) its size and seed. A follow-up turn finds the
previous picture in the assistant messages the client sends back, so nothing
is kept on the server: it works across replicas and restarts, and with UIs
that edit or truncate the history. Nothing here needs to be secret or signed:
the prompt is the user's own idea, and a link read back is only ever used
under the same policy as any link a user sends.

Answers written before this marker existed (``![image](link)`` then the prompt
as the next paragraph) are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKED_IMAGE = re.compile(
    r"!\[(?P<alt>(?:\\.|[^\\\]\[\n])*)\]\((?P<link>[^\s()]+)\s+\"(?P<width>\d{2,5})x(?P<height>\d{2,5})"
    r"(?:, seed (?P<seed>\d{1,12}))?\"\)"
)
PLAIN_IMAGE = re.compile(r"!\[image\]\((?P<link>[^\s()]+)\)")
ANY_IMAGE = re.compile(r"!\[(?:\\.|[^\\\]\[\n])*\]\([^\s()]+(?:\s+\"[^\"\n]*\")?\)")
"""Any Markdown image, ours or not, with or without a title."""
ESCAPED = re.compile(r"\\(.)")
NEEDS_ESCAPE = re.compile(r"([\\\[\]])")
MAX_READ = 64_000
"""Characters of one assistant message that are searched (a picture answer is a few hundred)."""


@dataclass(frozen=True, slots=True)
class ShownPicture:
    """A picture as an earlier answer showed it: its link and the prompt, size and seed that made it."""

    link: str
    prompt: str
    width: int | None = None
    height: int | None = None
    seed: int | None = None


def picture_markdown(link: str, prompt: str, width: int, height: int, seed: int | None) -> str:
    """One picture as Markdown, carrying what a follow-up needs to change it."""
    alt = NEEDS_ESCAPE.sub(r"\\\1", " ".join(prompt.split()))
    title = f"{width}x{height}" if seed is None else f"{width}x{height}, seed {seed}"
    return f'![{alt}]({link} "{title}")'


def pictures_in(text: str) -> list[ShownPicture]:
    """The pictures an answer shows, in order; an older plain answer's prompt is its last paragraph."""
    text = text[:MAX_READ]
    marked = [_marked(match) for match in MARKED_IMAGE.finditer(text)]
    if marked:
        return marked
    links = [match["link"] for match in PLAIN_IMAGE.finditer(text)]
    if not links:
        return []
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip() and not PLAIN_IMAGE.search(p)]
    prompt = " ".join(paragraphs[-1].split()) if paragraphs else ""
    return [ShownPicture(link, prompt) for link in links]


def _marked(match: re.Match[str]) -> ShownPicture:
    seed = match["seed"]
    return ShownPicture(
        link=match["link"],
        prompt=ESCAPED.sub(r"\1", match["alt"]),
        width=int(match["width"]),
        height=int(match["height"]),
        seed=int(seed) if seed is not None else None,
    )
