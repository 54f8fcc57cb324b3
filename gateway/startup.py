"""What a start says: one summary of the configuration in effect, and warnings for what is probably a mistake.

The summary names the models and the vendor groups behind them, each group's
keys by fingerprint (never the keys), the rewriting mode, the store and its
cap, the auth mode and where links point. The warnings catch what the settings
themselves accept: a variable name one letter off a known one, an
``OPENAI_API_KEY`` with no model to use it, and values still holding
``config/example.env``'s placeholders. ``imagegate check`` prints the same.
"""

from __future__ import annotations

import difflib
import re
from importlib.resources import files
from typing import Any

import structlog

from config import Settings
from config.groups import INDEXED_NAME
from gateway.keys import fingerprint
from gateway.media import DEFAULT_MAX_BYTES

log = structlog.get_logger("gateway.startup")

WATCHED_PREFIXES = ("IMAGE_GEN_", "FLUX_GEN_", "OPENAI_", "MEDIA_", "CHAT_", "REWRITE_", "CORS_", "METRICS_")
INDEXED_FIELDS = ("API_BASE", "MODEL", "API_KEY", "TYPE", "COST", "EDIT_MODELS", "TOKEN_PRICE")
EXAMPLE_LINE = re.compile(r"^\s*#?\s*(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>\S+)\s*$")
PLACEHOLDER_WORD = re.compile(r"\b[A-Z]{2,}(?:_[A-Z]{2,})+\b")
"""An all-capitals word like ``ACCOUNT_ID`` inside an example URL: to be replaced with the operator's own."""


def summary(settings: Settings) -> dict[str, Any]:
    """The configuration in effect, safe to log: no key appears, only its fingerprint."""
    models: dict[str, list[str]] = {}
    for group in settings.vendor_groups:
        for alias in group.models:
            models.setdefault(alias.public, []).append(f"{group.name}:{alias.vendor}")
    groups = {
        group.name: {
            "type": group.type,
            "base": group.api_base or None,
            "keys": [fingerprint(key.get_secret_value()) for key in group.keys] if group.type != "demo" else [],
        }
        for group in settings.vendor_groups
    }
    kind, _, where = settings.media_store.partition("://")
    cap = settings.media_store_max_bytes or DEFAULT_MAX_BYTES.get(kind)
    return {
        "models": models,
        "groups": groups,
        "rewriting": f"{settings.rewrite_mode} with {settings.rewrite_model}" if settings.rewrite_model else "off",
        "store": f"{kind} {where}".strip() + (f", cap {cap // (1024 * 1024)} MiB" if cap else ""),
        "media_mode": settings.media_mode,
        "auth": _auth_mode(settings),
        "links": settings.public_base_url or "from request headers",
        "cors": ", ".join(settings.cors_allow_origins) or "off",
    }


def warnings(settings: Settings) -> list[str]:
    """Sentences naming each probable mistake in the environment the settings were read from."""
    found = [*_unknown_names(settings.environment), *_placeholders(settings.environment)]
    if settings.openai_api_key and not settings.rewrite_model:
        found.append(
            "OPENAI_API_KEY is set but neither OPENAI_MODEL nor OPENAI_MODEL_REASONING is, so prompts are not "
            "rewritten: set one of them, or remove the key"
        )
    return found


def log_start(settings: Settings) -> None:
    """The start's summary and warnings, as log events (``config.summary``, one ``config.warning`` each)."""
    log.info("config.summary", **summary(settings))
    for warning in warnings(settings):
        log.warning("config.warning", message=warning)


def _auth_mode(settings: Settings) -> str:
    if settings.authorized_api_key:
        return f"{len(settings.authorized_api_key)} client key(s)"
    return "none (anyone who can reach the port)" if settings.allow_anonymous else "none (loopback only)"


def _known_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields} - {"VENDOR_ENV", "VENDOR_GROUPS", "ENVIRONMENT"}


def _unknown_names(environment: dict[str, str]) -> list[str]:
    known = _known_names()
    candidates = sorted(known) + [f"IMAGE_GEN_{field}_1" for field in INDEXED_FIELDS]
    found = []
    for name in sorted(environment):
        upper = name.upper()
        if not upper.startswith(WATCHED_PREFIXES) or upper in known or INDEXED_NAME.match(upper):
            continue
        shape = re.sub(r"_\d+$", "_1", upper)
        close = difflib.get_close_matches(shape, candidates, n=1, cutoff=0.75)
        if close and close[0].endswith("_1") and shape != upper:
            close = [close[0][:-1] + upper.rsplit("_", 1)[1]]
        hint = f"; did you mean {close[0]}?" if close else ""
        found.append(f"{name} is not a setting imagegate knows, so it is ignored{hint}")
    return found


def _placeholders(environment: dict[str, str]) -> list[str]:
    examples = _example_values()
    found = []
    for name, value in sorted(environment.items()):
        pieces = [piece.strip() for piece in value.split(",")]
        copied = [piece for piece in pieces if piece and piece in examples.get(name.upper(), set())]
        is_key = "KEY" in name.upper()
        if copied and is_key:
            found.append(f"{name} still holds the example value '{copied[0]}' from config/example.env")
        elif PLACEHOLDER_WORD.search(value) and name.upper() in examples:
            word = PLACEHOLDER_WORD.search(value)
            found.append(f"{name} still holds the placeholder {word.group() if word else ''} from config/example.env")
    return found


def _example_values() -> dict[str, set[str]]:
    """Each variable of ``config/example.env`` (commented out or not) and the values it shows."""
    text = files("config").joinpath("example.env").read_text(encoding="utf-8")
    values: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = EXAMPLE_LINE.match(line)
        if match:
            values.setdefault(match["name"], set()).update(p.strip() for p in match["value"].split(","))
    return values
