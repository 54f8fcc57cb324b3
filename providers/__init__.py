"""Vendor adapters, one per wire protocol, and the registry keyed by ``IMAGE_GEN_TYPE_n``."""

from providers.base import (
    EXTRAS,
    VARIATION_PROMPT,
    Edit,
    ImageJob,
    ImageResult,
    InputImage,
    KeyExhausted,
    KeyRejected,
    KeyVerdict,
    MalformedReply,
    NextStep,
    Provider,
    ProviderError,
    RateLimited,
    ReplyTooLarge,
    RequestRejected,
    TokenUsage,
    VendorBusy,
    VendorUnavailable,
    seed_for,
)
from providers.chat import ChatCompletions
from providers.cloudflare import Cloudflare
from providers.demo import DemoPainter
from providers.openai_images import OpenAIImages
from providers.siliconflow import SiliconFlow

PROVIDERS: dict[str, Provider] = {
    "chat": ChatCompletions(),
    "openai": OpenAIImages(),
    "siliconflow": SiliconFlow(),
    "cloudflare": Cloudflare(),
    "demo": DemoPainter(),
}
PROVIDER_TYPES = frozenset(PROVIDERS)

__all__ = [
    "EXTRAS",
    "PROVIDERS",
    "PROVIDER_TYPES",
    "VARIATION_PROMPT",
    "Edit",
    "ImageJob",
    "ImageResult",
    "InputImage",
    "KeyExhausted",
    "KeyRejected",
    "KeyVerdict",
    "MalformedReply",
    "NextStep",
    "Provider",
    "ProviderError",
    "RateLimited",
    "ReplyTooLarge",
    "RequestRejected",
    "TokenUsage",
    "VendorBusy",
    "VendorUnavailable",
    "seed_for",
]
