"""``imagegate check --probe``: one cheap call per vendor group and key, to say which keys work before users do.

The call is the vendor's model list where it has one (OpenAI-compatible APIs,
SiliconFlow, chat upstreams: ``GET …/models``; Workers AI: the model search),
so nothing is generated or billed. 401/403 means the key is refused; a 404 on
a chat group whose URL does not end in ``/chat/completions`` is named as the
likely cause.
"""

from __future__ import annotations

import httpx

from config import Settings, VendorGroup
from gateway.keys import fingerprint

PROBE_TIMEOUT = 10.0


def probe_url(group: VendorGroup) -> str | None:
    """Where a key of ``group`` can be tried for free; None for the demo."""
    base = group.api_base.rstrip("/")
    if group.type == "demo" or not base:
        return None
    if group.type == "cloudflare":
        return base.removesuffix("/run") + "/models/search?per_page=1"
    for suffix in ("/images/generations", "/chat/completions"):
        base = base.removesuffix(suffix)
    return f"{base}/models"


async def probe_groups(settings: Settings) -> list[str]:
    """One line per key of every vendor group: works, refused, or what else the vendor said."""
    lines: list[str] = []
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        for group in settings.vendor_groups:
            url = probe_url(group)
            if url is None:
                lines.append(f"{group.name} ({group.type}): nothing to probe")
                continue
            for key in group.keys:
                secret = key.get_secret_value()
                verdict = await _try(client, url, secret)
                lines.append(f"{group.name} ({group.type}) key {fingerprint(secret)}: {verdict}")
    return lines


async def _try(client: httpx.AsyncClient, url: str, key: str) -> str:
    try:
        response = await client.get(url, headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError as error:
        return f"unreachable ({type(error).__name__}) at {url}"
    if response.is_success:
        return "works"
    if response.status_code in (401, 403):
        return f"refused (HTTP {response.status_code})"
    return f"HTTP {response.status_code} at {url}"
