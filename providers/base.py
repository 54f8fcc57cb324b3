"""What every vendor adapter shares: the job it is given, what it returns, how it fails.

Adapters know one wire format and nothing about keys, retries or storage. They
raise one of these classified errors; the router reads the class, never the text::

    ProviderError               any vendor failure; carries the vendor status and a trimmed body for the log
    ├── KeyRejected             401 / 403: this key is dead           -> next key, same route
    ├── KeyExhausted            402, quota 429: key is out of credit  -> long cooldown, next key
    ├── RateLimited             429: key is busy for Retry-After      -> cooldown, next key
    ├── VendorUnavailable       5xx, 404, timeout, connection error   -> route unhealthy, next route
    │   ├── MalformedReply      a 2xx reply we cannot read            -> route unhealthy, next route
    │   │   └── ReplyTooLarge   a reply or an image over its size cap -> route unhealthy, next route
    │   └── VendorBusy          our own queue for this vendor is full -> next route now; 503 when none is left
    └── RequestRejected         400 / 422: content policy, bad size   -> error to the client, no failover
"""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass
from typing import ClassVar, Protocol

import httpx


@dataclass(frozen=True, slots=True)
class InputImage:
    """A picture given to a vendor as input (an edit's source or mask), already checked and stored."""

    data: bytes
    media_type: str
    """``image/png``, ``image/jpeg``, ``image/webp`` or ``image/gif``."""
    width: int
    height: int

    @property
    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode()}"

    @property
    def extension(self) -> str:
        return self.media_type.removeprefix("image/").replace("jpeg", "jpg")


VARIATION_PROMPT = "Another version of this picture: the same subject, composition and style, with fresh details"
"""What a vendor that needs a prompt is told for a variation (an edit with no words of the client's)."""


@dataclass(frozen=True, slots=True)
class Edit:
    """What an edit starts from: the pictures, where to change them, and how far."""

    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    """Where to edit, as the OpenAI API means it: the transparent pixels of the mask are the area to change."""
    strength: float | None = None
    """How far the result may move from the input, 0 to 1 (image-to-image models)."""
    variation: bool = False
    """A variation of the input, with no prompt of the client's: the vendor's variation call where it has one."""


@dataclass(frozen=True, slots=True)
class ImageJob:
    """One picture request as a vendor sees it; ``model`` is the vendor's own model id."""

    prompt: str
    width: int
    height: int
    model: str
    n: int = 1
    seed: int | None = None
    steps: int | None = None
    negative_prompt: str | None = None
    guidance: float | None = None
    variant: int = 0
    """Which of a request's ``n`` pictures this is; only a deterministic vendor (demo) needs it to vary."""
    seed_from_gateway: bool = False
    """The gateway picked ``seed`` (the client gave none): sent only to vendors whose ``any_seed`` is true."""
    edit: Edit | None = None
    """The input pictures of an edit or a variation; such a job goes only to routes that can edit."""
    max_image_bytes: int = 20 * 1024 * 1024
    """The largest image the gateway takes (``MEDIA_MAX_BYTES``): inline images and replies are capped by it."""

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """What a vendor says a call used (OpenAI's ``usage`` of gpt-image models), for per-token prices."""

    input_tokens: int
    output_tokens: int

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)


@dataclass(frozen=True, slots=True)
class ImageResult:
    """An image as the vendor gave it: either the bytes, or a (usually temporary) URL."""

    data: bytes | None = None
    url: str | None = None
    usage: TokenUsage | None = None
    """The call's usage as the vendor reported it, on the first result of the call only."""

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("an ImageResult holds exactly one of data or url")


class KeyVerdict(enum.Enum):
    """What a failure says about the key that was used."""

    KEEP = "keep"
    COOL = "cool"
    EXHAUSTED = "exhausted"
    DEAD = "dead"


class NextStep(enum.Enum):
    """Where the router goes after a failure."""

    NEXT_KEY = "next_key"
    NEXT_ROUTE = "next_route"
    SKIP_ROUTE = "skip_route"
    """The route is sound but full: try the others now, without marking it unhealthy or repeating the pass."""
    STOP = "stop"


class ProviderError(Exception):
    """A classified vendor failure. ``detail`` is for the log only, never for the client."""

    key_verdict: ClassVar[KeyVerdict] = KeyVerdict.KEEP
    next_step: ClassVar[NextStep] = NextStep.NEXT_ROUTE
    reason: ClassVar[str] = "vendor_error"

    def __init__(
        self,
        message: str,
        *,
        vendor_status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor_status = vendor_status
        self.detail = detail
        self.retry_after = retry_after


class KeyRejected(ProviderError):
    key_verdict = KeyVerdict.DEAD
    next_step = NextStep.NEXT_KEY
    reason = "key_rejected"


class KeyExhausted(ProviderError):
    key_verdict = KeyVerdict.EXHAUSTED
    next_step = NextStep.NEXT_KEY
    reason = "key_exhausted"


class RateLimited(ProviderError):
    key_verdict = KeyVerdict.COOL
    next_step = NextStep.NEXT_KEY
    reason = "rate_limited"


class VendorUnavailable(ProviderError):
    reason = "vendor_unavailable"


class MalformedReply(VendorUnavailable):
    reason = "malformed_reply"


class ReplyTooLarge(MalformedReply):
    reason = "too_large"


class VendorBusy(VendorUnavailable):
    next_step = NextStep.SKIP_ROUTE
    reason = "vendor_busy"


class RequestRejected(ProviderError):
    """The vendor refused the request itself; ``message`` is the vendor's own short explanation."""

    next_step = NextStep.STOP
    reason = "request_rejected"


EXTRAS = frozenset({"seed", "steps", "negative_prompt", "guidance"})
"""The optional knobs of an ImageJob; an adapter says which of them it sends for a model."""


def seed_for(job: ImageJob, provider: Provider) -> int | None:
    """The seed ``provider`` is sent for ``job``: the client's always, the gateway's own where the vendor takes any."""
    return job.seed if not job.seed_from_gateway or provider.any_seed else None


class Provider(Protocol):
    """One vendor wire protocol. Holds no per-request state."""

    size_multiple: int
    """Sides must be multiples of this (64 for most diffusion APIs)."""
    any_seed: bool
    """The vendor takes any integer seed, so the gateway may send one it picked (a new one for "again", the same
    one to keep a changed picture's composition); an API that may reject the field (OpenAI's) gets only a client's."""

    def extras(self, vendor_model: str) -> frozenset[str]:
        """Which of EXTRAS this adapter sends to the vendor for ``vendor_model``; the others are ignored."""
        ...

    def can_edit(self, vendor_model: str) -> bool:
        """Whether ``vendor_model`` takes an input picture through this adapter (its own table)."""
        ...

    async def generate(self, job: ImageJob, *, base_url: str, key: str, client: httpx.AsyncClient) -> list[ImageResult]:
        """Results for ``job`` (at least one), or a ProviderError."""
        ...
