"""Typed settings, read once at startup from the environment and an optional ``.env``.

Handlers never read ``os.environ``: they get this object. Seed variable names
keep their meaning; the README's configuration table lists them all.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from config.groups import (
    INDEXED_NAME,
    KEYLESS_TYPES,
    ConfigError,
    VendorGroup,
    check_base_url,
    parse_indexed_groups,
    parse_keys,
    parse_models,
    split_list,
)
from providers import PROVIDER_TYPES

Size = tuple[int, int]


class ClientLimits(BaseModel):
    """One client's limits; each is optional (no limit when absent)."""

    model_config = ConfigDict(extra="forbid")

    images_per_minute: int | None = Field(default=None, ge=1)
    images_per_day: int | None = Field(default=None, ge=1)
    budget_per_day: float | None = Field(default=None, gt=0)
    budget_per_month: float | None = Field(default=None, gt=0)


KeyList = Annotated[list[SecretStr], NoDecode]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ANY_PEER = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))

SEED_ASPECT_RATIOS: dict[str, Size] = {
    "1:1": (1024, 1024),
    "1:2": (512, 1024),
    "3:2": (768, 512),
    "3:4": (768, 1024),
    "16:9": (1024, 576),
    "9:16": (576, 1024),
}
DEMO_MODEL = "demo"
FLUX_GROUP_ORDER = 0  # the seed's FLUX_GEN vendor sorts before IMAGE_GEN_*_1


def parse_size(raw: str) -> Size:
    """``"1024x576"`` -> ``(1024, 576)``."""
    width, sep, height = raw.strip().lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) <= 0 or int(height) <= 0:
        raise ValueError(f"'{raw}' is not a size like 1024x576")
    return int(width), int(height)


class Settings(BaseSettings):
    """Everything the gateway can be told. Field names are the environment variable names."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    host: str = "127.0.0.1"
    """Address ``imagegate serve`` binds to; decides whether running without client keys is allowed."""
    port: int = Field(default=8000, ge=1, le=65535)
    authorized_api_key: KeyList = []
    """Client keys (comma list). Empty: no auth, allowed only on a loopback bind or with ALLOW_ANONYMOUS."""
    allow_anonymous: bool = False
    client_limits: Annotated[dict[str, ClientLimits], NoDecode] = {}
    """Per client name (``*`` for every client without its own): images per minute and per day, budgets per day
    and month, as JSON: ``{"alice": {"images_per_minute": 10, "budget_per_day": 5}}``."""
    admin_api_key: SecretStr | None = None
    """A key that sees every client's records and usage (``/v1/images``, ``/v1/usage``)."""
    metrics_key: SecretStr | None = None
    """When set, ``/metrics`` needs ``Authorization: Bearer METRICS_KEY``."""
    cors_allow_origins: Annotated[list[str], NoDecode] = ["*"]
    """Origins whose pages may call the API from a browser (comma list); ``*`` any (auth is a bearer header, never
    a cookie); empty: no CORS headers at all."""

    openai_api_base: str | None = None
    openai_api_key: KeyList = []
    openai_model: str | None = None
    """Prompt rewriting in fast mode."""
    openai_model_reasoning: str | None = None
    """Prompt rewriting in reasoning mode (``<think>`` then the prompt)."""
    rewrite_timeout: float = Field(default=20.0, gt=0)
    """Seconds the rewriting LLM gets (every key included); past that the user's own prompt is used."""
    rewrite_cache_seconds: float = Field(default=24 * 3600.0, ge=0)
    rewrite_cache_size: int = Field(default=2048, ge=0)
    show_revised_prompt: bool = True
    """Show the prompt that was used under the image in chat answers."""
    side_request_detection: bool = True
    """Answer chat UIs' housekeeping prompts (titles, tags, follow-ups, summaries) without making an image."""
    side_request_patterns: Annotated[list[str], NoDecode] = []
    """Extra regular expressions (a JSON list) that mark a side request; answered with a short title."""
    chat_follow_ups: bool = True
    """Read a chat message as a change to the conversation's previous picture when it is one ("at night", "again")."""
    chat_progress: Literal["reasoning", "content", "off"] = "reasoning"
    """Where a streamed chat answer shows progress: as thinking (``reasoning_content``), in the answer, or nowhere."""
    chat_edit_previous: bool = True
    """A change to the previous picture starts from that picture (an edit) when the model can edit; false:
    the changed prompt is drawn afresh."""
    fit_to_size: bool = True
    """Center-crop and resize a picture a vendor made in another size to the size that was asked for."""
    chat_images_field: bool = False
    """Also put the pictures' links in ``message.images`` / ``delta.images`` (OpenRouter's shape)."""

    flux_gen_model: str | None = None
    flux_gen_api_base: str | None = None
    flux_gen_api_key: KeyList = []

    vendor_env: dict[str, str] = Field(default={}, repr=False, exclude=True)
    """The raw ``IMAGE_GEN_*_n`` variables; turned into ``vendor_groups``."""

    public_base_url: str | None = None
    """Absolute base for emitted links, path prefix included (``https://example.com/imagegen``)."""
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = ()
    """Peers (addresses or CIDRs, ``*`` for any) whose X-Forwarded-* and Forwarded headers are believed."""
    database_url: str | None = None
    """Where records are kept: ``postgresql://…`` for several replicas; unset: SQLite in ``DATA_DIR``."""
    redis_url: SecretStr | None = None
    """Shared state for several replicas (``redis://host:6379/0``): key cooldowns, dead keys and strikes. Unset: each
    process keeps its own (one process needs nothing else)."""
    workers: int = Field(default=1, ge=1, le=64)
    """Processes serving on one port (``imagegate serve --workers N``); more than one needs ``REDIS_URL``."""
    keep_records: bool = True
    """Write a record of every picture; off, only batches keep theirs (``/v1/images`` and ``/v1/usage`` stay empty,
    and limits count from the start of the process)."""
    batch_max_prompts: int = Field(default=100, ge=1, le=10_000)
    """Prompts one ``POST /v1/images/batches`` may carry."""
    batch_concurrency: int = Field(default=2, ge=1)
    """Batch prompts made at once in this process (across all batches), so batches leave room for live requests."""
    batch_lease_seconds: float = Field(default=60.0, gt=0)
    """A process holds a batch this long between renewals; a crashed one's batches are taken over after it."""
    webhook_secret: SecretStr | None = None
    """HMAC key of webhook signatures; generated into ``DATA_DIR/webhook-secret`` when unset."""
    webhook_attempts: int = Field(default=6, ge=1, le=20)
    webhook_backoff_seconds: float = Field(default=2.0, ge=0)
    """Waits between webhook attempts: 1, 2, 4… times this (at most 5 minutes)."""
    data_dir: Path = Path("./data")
    """Where the generated IMAGE_PROXY_SECRET is kept."""
    media_store: str = "file://./data/media"
    s3_endpoint_url: str | None = None
    """The S3-compatible API of ``MEDIA_STORE=s3://…`` (MinIO, R2, Ceph…); unset: AWS. Credentials and region come
    from the standard ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``."""
    media_public_base_url: str | None = None
    """Where the bucket's pictures are public (a CDN or the bucket's domain, prefix included): answers link there
    instead of through ``/image-proxy``."""
    media_store_max_bytes: int | None = Field(default=None, gt=0)
    """Total size cap of the store; least recently served images go first. Default 10 GiB (file), 256 MiB (memory)."""
    media_hot_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    """Most recently used images also kept in memory by the file store (0 turns it off)."""
    media_mode: Literal["store", "link"] = "store"
    """``store``: download vendor links at generation time; ``link``: emit signed links, fetched on first hit."""
    media_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    """Largest image the gateway downloads."""
    media_max_downloads: int = Field(default=256, ge=1)
    """Downloads in flight from one image host at once (each holds up to MEDIA_MAX_BYTES); more wait in a queue."""
    media_fetch_timeout_seconds: float = Field(default=60.0, gt=0)
    """Whole budget for one image download, redirects included."""
    media_allow_private_networks: bool = False
    """Let image downloads reach loopback, private and link-local addresses (tests, a local demo)."""
    image_proxy_secret: SecretStr | None = None
    """HMAC key of signed ``/image-proxy?url=`` links; generated once into DATA_DIR when unset."""

    aspect_ratios: Annotated[dict[str, Size], NoDecode] = SEED_ASPECT_RATIOS
    """Ratio table, ``1:1=1024x1024,16:9=1344x768``; replaces the seed's table when set."""
    default_size: Size = (1024, 1024)

    request_deadline_seconds: float = Field(default=120.0, gt=0)
    """Whole budget for one image request, every attempt included."""
    vendor_timeout_seconds: float = Field(default=90.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    retry_rounds: int = Field(default=3, ge=1)
    """Passes over all routes when every route is failing (with backoff between them)."""
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    """First backoff between passes; 0 turns backoff off (tests)."""
    key_cooldown_seconds: float = Field(default=5.0, ge=0)
    """429 without Retry-After: first cooldown, doubled on each repeat up to ``key_cooldown_max_seconds``."""
    key_cooldown_max_seconds: float = Field(default=300.0, ge=0)
    key_quota_cooldown_seconds: float = Field(default=3600.0, ge=0)
    key_dead_seconds: float = Field(default=6 * 3600.0, ge=0)
    """A rejected (401/403) key is re-probed after this long."""
    route_unhealthy_seconds: float = Field(default=10.0, ge=0)
    stream_keepalive_seconds: float = Field(default=5.0, gt=0)
    vendor_max_connections: int = Field(default=2048, ge=1)
    """Requests in flight to one vendor host (and to one image host) at once; more wait in a queue."""
    vendor_max_queued: int = Field(default=8192, ge=0)
    """Requests that may wait for a vendor host's connection; past that the route is skipped (503 if none is left)."""

    max_connections: int = Field(default=16384, ge=1)
    """Client connections served at once; past that new requests get a 503 at once (raise the open-file limit)."""
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    """A client must send a request's whole header within this long (slow-header clients are cut off)."""
    keepalive_timeout_seconds: int = Field(default=5, ge=1)
    """An idle keep-alive client connection is closed after this long."""
    shutdown_grace_seconds: int = Field(default=5, ge=0)
    """On SIGTERM: how long requests in flight and generations whose client left may still finish."""

    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    default_image_model: str | None = None
    """The images API's model when a request names none; default: the first configured model."""

    vendor_groups: tuple[VendorGroup, ...] = ()
    """Derived: every configured vendor, ordered; the demo vendor when none is configured."""
    environment: dict[str, str] = Field(default={}, repr=False, exclude=True)
    """The variables the settings were read from (process environment and ``.env``), for the start checks."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Settings from exactly ``env`` (no process environment, no ``.env``): the test entry point."""
        values: dict[str, Any] = {"vendor_env": {}, "environment": dict(env)}
        for name, value in env.items():
            if INDEXED_NAME.match(name):
                values["vendor_env"][name.upper()] = value
            else:
                values[name.lower()] = value
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigError(describe_error(error)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        indexed = IndexedVariablesSource(settings_cls, env_settings, dotenv_settings)
        return init_settings, indexed, env_settings, dotenv_settings, file_secret_settings

    @field_validator("authorized_api_key", "openai_api_key", "flux_gen_api_key", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        return split_list(value) if isinstance(value, str) else value

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        return split_list(value) if isinstance(value, str) else value

    @field_validator("aspect_ratios", mode="before")
    @classmethod
    def _parse_ratio_table(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        table: dict[str, Size] = {}
        for entry in split_list(value):
            ratio, _, size = entry.partition("=")
            table[ratio.strip()] = parse_size(size)
        return table

    @field_validator("default_size", mode="before")
    @classmethod
    def _parse_default_size(cls, value: Any) -> Any:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("client_limits", mode="before")
    @classmethod
    def _read_limits(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            raise ValueError('write the limits as JSON, e.g. {"alice": {"images_per_minute": 10}}') from None

    @field_validator("side_request_patterns", mode="before")
    @classmethod
    def _read_pattern_list(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            raise ValueError('write the patterns as a JSON list, e.g. ["^Generate a title"]') from None

    @field_validator("side_request_patterns")
    @classmethod
    def _compile_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"'{pattern}' is not a valid regular expression ({error})") from None
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_public_base(cls, value: str | None) -> str | None:
        return check_base_url(value, "PUBLIC_BASE_URL") if value else None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        entries = split_list(value)
        if "*" in entries:
            return ANY_PEER
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)

    @field_validator("media_store")
    @classmethod
    def _check_media_store(cls, value: str) -> str:
        parse_media_store(value)
        return value

    @model_validator(mode="after")
    def _build_vendor_groups(self) -> Settings:
        self._check_rewriting()
        groups = parse_indexed_groups(self.vendor_env, PROVIDER_TYPES)
        flux = self._flux_group()
        if flux:
            groups.insert(0, flux)
        if not groups:
            groups = [demo_group()]
        self.vendor_groups = tuple(groups)
        served = [alias.public for group in self.vendor_groups for alias in group.models]
        if self.default_image_model and self.default_image_model not in served:
            raise ConfigError(
                f"DEFAULT_IMAGE_MODEL='{self.default_image_model}' is not served by any group; "
                f"configured models: {', '.join(dict.fromkeys(served))}"
            )
        return self

    def _check_rewriting(self) -> None:
        if self.openai_model and self.openai_model_reasoning:
            raise ConfigError("set OPENAI_MODEL or OPENAI_MODEL_REASONING, not both")
        if self.openai_model or self.openai_model_reasoning:
            if not self.openai_api_base:
                raise ConfigError("OPENAI_API_BASE is missing (prompt rewriting needs it)")
            check_base_url(self.openai_api_base, "OPENAI_API_BASE")
            if not self.openai_api_key:
                raise ConfigError("OPENAI_API_KEY has no keys (prompt rewriting needs at least one)")

    @property
    def rewrite_model(self) -> str | None:
        """The rewriting LLM's model, whichever mode it is in; None when rewriting is off."""
        return self.openai_model or self.openai_model_reasoning

    @property
    def rewrite_mode(self) -> Literal["fast", "reasoning"]:
        return "reasoning" if self.openai_model_reasoning else "fast"

    def _flux_group(self) -> VendorGroup | None:
        present = {
            "FLUX_GEN_MODEL": self.flux_gen_model,
            "FLUX_GEN_API_BASE": self.flux_gen_api_base,
            "FLUX_GEN_API_KEY": ",".join(k.get_secret_value() for k in self.flux_gen_api_key),
        }
        if not any(present.values()):
            return None
        for name, value in present.items():
            if not value:
                raise ConfigError(f"{name} is missing (the FLUX_GEN vendor needs all three FLUX_GEN_* variables)")
        return VendorGroup(
            name="flux",
            order=FLUX_GROUP_ORDER,
            type="siliconflow",
            api_base=check_base_url(present["FLUX_GEN_API_BASE"] or "", "FLUX_GEN_API_BASE"),
            keys=parse_keys(present["FLUX_GEN_API_KEY"], "FLUX_GEN_API_KEY"),
            models=parse_models(present["FLUX_GEN_MODEL"] or "", "FLUX_GEN_MODEL"),
        )

    def secret_values(self) -> list[str]:
        """Every key the gateway holds (vendor, rewriting LLM, client), for scrubbing logs."""
        keys = [key for group in self.vendor_groups if group.type not in KEYLESS_TYPES for key in group.keys]
        keys += [*self.openai_api_key, *self.flux_gen_api_key, *self.authorized_api_key]
        keys += [SecretStr(key.get_secret_value().partition(":")[2]) for key in self.authorized_api_key]  # name:key
        keys = [key for key in keys if key.get_secret_value()]
        secrets = (self.image_proxy_secret, self.metrics_key, self.admin_api_key, self.webhook_secret, self.redis_url)
        keys += [s for s in secrets if s is not None]
        return [key.get_secret_value() for key in keys]


def parse_media_store(url: str) -> tuple[Literal["memory", "file", "s3"], str]:
    """``memory://`` -> ("memory", ""); ``file://DIR`` -> ("file", DIR); ``s3://BUCKET/PREFIX`` -> ("s3",
    "BUCKET/PREFIX"); anything else is a ValueError."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme == "memory" and not rest:
        return "memory", ""
    if sep and scheme == "file" and rest:
        return "file", rest
    if sep and scheme == "s3" and rest.strip("/"):
        return "s3", rest.strip("/")
    raise ValueError(f"unsupported MEDIA_STORE '{url}'; use file://DIR, s3://BUCKET/PREFIX or memory://")


def demo_group() -> VendorGroup:
    """What a fresh checkout runs on: the offline demo provider serving model ``demo``."""
    return VendorGroup(
        name="demo",
        order=0,
        type="demo",
        api_base="",
        keys=(SecretStr("demo"),),
        models=parse_models(DEMO_MODEL, "IMAGE_GEN_MODEL"),
    )


class IndexedVariablesSource(PydanticBaseSettingsSource):
    """Collects ``IMAGE_GEN_*_n`` from ``.env`` and the environment (environment wins) into ``vendor_env``."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        env: PydanticBaseSettingsSource,
        dotenv: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._sources = (dotenv, env)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, str] = {}
        for source in self._sources:
            variables: Mapping[str, str | None] = getattr(source, "env_vars", {})
            for name, value in variables.items():
                if value is not None and INDEXED_NAME.match(name):
                    found[name.upper()] = value
        return {"vendor_env": found} if found else {}


def describe_error(error: ValidationError | ConfigError) -> str:
    """One readable line for the operator, naming the variable."""
    if isinstance(error, ConfigError):
        return str(error)
    problems = []
    for item in error.errors():
        variable = ".".join(str(part) for part in item["loc"]).upper()
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{variable}: {message}" if variable else message)
    return "; ".join(problems)


def load_settings() -> Settings:
    """Settings from the process environment and ``./.env``; raises ConfigError with one readable line."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigError(describe_error(error)) from None
    dotenv = {name: value for name, value in dotenv_values(".env").items() if value is not None}
    return settings.model_copy(update={"environment": dotenv | dict(os.environ)})
