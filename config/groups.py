"""Vendor groups from the seed's indexed variables (``IMAGE_GEN_API_BASE_n`` and friends).

The seed read groups 1..N and stopped at the first gap; we accept any ``n`` with
gaps, and validate each group as a whole so the error names the exact variable
an operator has to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

INDEXED_NAME = re.compile(
    r"^IMAGE_GEN_(API_BASE|MODEL|API_KEY|TYPE|COST|EDIT_MODELS|TOKEN_PRICE)_(\d+)$", re.IGNORECASE
)
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
DEFAULT_TYPE = "chat"
KEYLESS_TYPES = frozenset({"demo"})


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the variable to fix."""


@dataclass(frozen=True, slots=True)
class ModelAlias:
    """``public`` is what clients ask for; ``vendor`` is the id sent to the vendor."""

    public: str
    vendor: str


@dataclass(frozen=True, slots=True)
class VendorGroup:
    """One vendor account: where to send, how to speak to it, which keys and models it has."""

    name: str
    order: int
    type: str
    api_base: str
    keys: tuple[SecretStr, ...]
    models: tuple[ModelAlias, ...]
    costs: dict[str, float] = field(default_factory=dict)
    """Price per image by public model name (``IMAGE_GEN_COST_n``); empty when not set."""
    token_prices: tuple[float, float] | None = None
    """Price per million input and output tokens (``IMAGE_GEN_TOKEN_PRICE_n``): wins over the price per image
    when the vendor reports usage."""
    edit_models: frozenset[str] | None = None
    """The public models of this group that take an input picture (``IMAGE_GEN_EDIT_MODELS_n``); None: the
    adapter's own table decides."""

    def cost_of(self, public_model: str) -> float | None:
        return self.costs.get(public_model)


def split_list(raw: str | None) -> list[str]:
    """The seed's comma-separated lists: blanks around items and empty items are dropped."""
    if not raw:
        return []
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_models(raw: str, variable: str) -> tuple[ModelAlias, ...]:
    """``a, b=vendor/b`` -> aliases; an entry listed twice or half-written is an error."""
    aliases: list[ModelAlias] = []
    seen: set[str] = set()
    for entry in split_list(raw):
        public, sep, vendor = (part.strip() for part in entry.partition("="))
        if sep and (not public or not vendor):
            raise ConfigError(f"{variable}: '{entry}' must be written public=vendor with both names")
        alias = ModelAlias(public=public, vendor=vendor or public)
        if alias.public in seen:
            raise ConfigError(f"{variable} lists model '{alias.public}' twice")
        seen.add(alias.public)
        aliases.append(alias)
    if not aliases:
        raise ConfigError(f"{variable} has no model names")
    return tuple(aliases)


def parse_costs(raw: str, models: tuple[ModelAlias, ...], variable: str) -> dict[str, float]:
    """``0.003`` (every model of the group) or ``flux=0.003, sdxl=0.002`` (public or vendor names) -> prices."""
    if NUMBER.match(raw.strip()):
        price = _price(raw.strip(), variable)
        return {alias.public: price for alias in models}
    by_name = {alias.public: alias.public for alias in models} | {alias.vendor: alias.public for alias in models}
    costs: dict[str, float] = {}
    for entry in split_list(raw):
        name, sep, value = (part.strip() for part in entry.partition("="))
        if not sep or name not in by_name:
            known = ", ".join(alias.public for alias in models)
            raise ConfigError(f"{variable}: '{entry}' must be a price or model=price for one of: {known}")
        costs[by_name[name]] = _price(value, variable)
    return costs


def _price(raw: str, variable: str) -> float:
    try:
        price = float(raw)
    except ValueError:
        raise ConfigError(f"{variable}: '{raw}' is not a price") from None
    if price < 0 or price != price:
        raise ConfigError(f"{variable}: a price cannot be negative")
    return price


def parse_keys(raw: str | None, variable: str) -> tuple[SecretStr, ...]:
    keys = tuple(SecretStr(key) for key in split_list(raw))
    if not keys:
        raise ConfigError(f"{variable} has no keys (expected a comma-separated list)")
    return keys


def check_base_url(url: str, variable: str) -> str:
    """An http(s) URL with a host, nothing a URL cannot hold; without its trailing slash."""
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{variable} must be an http:// or https:// URL")
    if re.search(r"\s", url):
        raise ConfigError(f"{variable} contains a space or a line break: '{url}'")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ConfigError(f"{variable} has a port that is not a number: '{url}'") from None
    if not parts.hostname:
        raise ConfigError(f"{variable} has no host name: '{url}'")
    return url.rstrip("/")


def parse_indexed_groups(env: Mapping[str, str], known_types: Iterable[str]) -> list[VendorGroup]:
    """Every ``IMAGE_GEN_*_n`` group in ``env``, ordered by ``n``."""
    by_index: dict[int, dict[str, str]] = {}
    for name, value in env.items():
        match = INDEXED_NAME.match(name)
        if match and value is not None and value.strip():
            by_index.setdefault(int(match.group(2)), {})[match.group(1).upper()] = value.strip()
    known = sorted(known_types)
    return [_build_group(index, fields, known) for index, fields in sorted(by_index.items())]


def _build_group(index: int, fields: dict[str, str], known_types: list[str]) -> VendorGroup:
    def var(field: str) -> str:
        return f"IMAGE_GEN_{field}_{index}"

    kind = fields.get("TYPE", DEFAULT_TYPE).lower()
    if kind not in known_types:
        raise ConfigError(f"{var('TYPE')}='{kind}' is not a known type; use one of {', '.join(known_types)}")
    required = ["MODEL"] if kind in KEYLESS_TYPES else ["API_BASE", "MODEL", "API_KEY"]
    for name in required:
        if name not in fields:
            present = ", ".join(var(f) for f in sorted(fields))
            raise ConfigError(f"{var(name)} is missing (group {index} sets {present})")
    api_base = check_base_url(fields["API_BASE"], var("API_BASE")) if "API_BASE" in fields else ""
    keys = parse_keys(fields["API_KEY"], var("API_KEY")) if "API_KEY" in fields else (SecretStr(kind),)
    models = parse_models(fields["MODEL"], var("MODEL"))
    return VendorGroup(
        name=f"group{index}",
        order=index,
        type=kind,
        api_base=api_base,
        keys=keys,
        models=models,
        costs=parse_costs(fields["COST"], models, var("COST")) if "COST" in fields else {},
        token_prices=parse_token_prices(fields["TOKEN_PRICE"], var("TOKEN_PRICE")) if "TOKEN_PRICE" in fields else None,
        edit_models=parse_edit_models(fields["EDIT_MODELS"], models, var("EDIT_MODELS"))
        if "EDIT_MODELS" in fields
        else None,
    )


def parse_token_prices(raw: str, variable: str) -> tuple[float, float]:
    """``input=5,output=40``: prices per million tokens."""
    prices: dict[str, float] = {}
    for entry in split_list(raw):
        name, separator, value = entry.partition("=")
        if not separator or name.strip() not in ("input", "output"):
            raise ConfigError(f"{variable} must be like input=5,output=40 (prices per million tokens), not '{raw}'")
        prices[name.strip()] = _price(value, variable)
    if set(prices) != {"input", "output"}:
        raise ConfigError(f"{variable} needs both input= and output= prices per million tokens")
    return prices["input"], prices["output"]


def parse_edit_models(raw: str, models: tuple[ModelAlias, ...], variable: str) -> frozenset[str]:
    """``IMAGE_GEN_EDIT_MODELS_n``: public or vendor names of the group's models that edit, ``*`` for all, or
    ``none``; the public names."""
    names = split_list(raw)
    if names == ["*"]:
        return frozenset(alias.public for alias in models)
    if [name.lower() for name in names] == ["none"]:
        return frozenset()
    by_name = {alias.public: alias.public for alias in models} | {alias.vendor: alias.public for alias in models}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        known = ", ".join(alias.public for alias in models)
        raise ConfigError(f"{variable} names {', '.join(unknown)}, which the group does not serve ({known})")
    return frozenset(by_name[name] for name in names)
