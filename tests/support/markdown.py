"""Reading the Markdown pictures of a chat answer the way a client renders them: ``![alt](url "title")``."""

from __future__ import annotations

import re

IMAGE = re.compile(r'!\[(?P<alt>(?:\\.|[^\]\\])*)\]\((?P<url>[^)\s]+)(?:\s+"(?P<title>[^"]*)")?\)')


def image_links(content: str) -> list[str]:
    return [match["url"] for match in IMAGE.finditer(content)]


def image_titles(content: str) -> list[str]:
    return [match["title"] or "" for match in IMAGE.finditer(content)]


def image_alts(content: str) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", match["alt"]) for match in IMAGE.finditer(content)]
