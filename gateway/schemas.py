"""Request and response bodies of the OpenAI-compatible API, as msgspec structs."""

from __future__ import annotations

from typing import Any

import msgspec


class ErrorDetail(msgspec.Struct):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


class ImageUrl(msgspec.Struct):
    url: str


class ContentPart(msgspec.Struct):
    type: str = "text"
    text: str | None = None
    image_url: ImageUrl | str | None = None
    """A picture the user attached (``type: image_url``): a data URI or a link."""


class ChatMessage(msgspec.Struct):
    role: str
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """String content as is; the text parts of a content array, joined."""
        if isinstance(self.content, str):
            return self.content
        parts = [part.text for part in self.content or [] if part.type == "text" and part.text]
        return "\n".join(parts)

    def pictures(self) -> list[str]:
        """The links or data URIs of the pictures attached to this message, in order."""
        if isinstance(self.content, str):
            return []
        found = [part.image_url for part in self.content or [] if part.type == "image_url" and part.image_url]
        return [part.url if isinstance(part, ImageUrl) else part for part in found]


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class ChatCompletionRequest(msgspec.Struct):
    model: str
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    rewrite: bool | None = None
    """Extra body field: ``false`` sends the prompt to the vendor as written."""
    # Image shortcuts as extra body fields (the images API's names).
    n: int = 1
    size: str | None = None
    seed: int | None = None
    steps: int | None = None
    negative_prompt: str | None = None
    guidance: float | None = None
    template_id: str | None = None
    template: str | None = None


class GenerationOptions(msgspec.Struct):
    """Every field of a generations request but its prompt (a batch applies them to each of its prompts)."""

    model: str | None = None
    n: int = 1
    size: str | None = None
    response_format: str | None = None
    user: str | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    seed: int | None = None
    guidance: float | None = None
    aspect_ratio: str | None = None
    style: str | None = None
    background: str | None = None
    rewrite: bool | None = None
    output_format: str | None = None
    output_compression: int | None = None
    template_id: str | None = None
    template: str | None = None
    """A saved template by name (``template_id`` by id): its model, prompt, size and presets, where not given."""


class ImageGenerationRequest(GenerationOptions, kw_only=True):
    """``POST /v1/images/generations``: OpenAI's fields plus the other image services' extras. Unknown fields pass."""

    prompt: str


class ImageBatchRequest(GenerationOptions, kw_only=True):
    """``POST /v1/images/batches``: prompts made in the background with the same options, and who to tell."""

    prompts: list[str]
    webhook_url: str | None = None
    """Gets one signed POST (the batch, as GET shows it) when the batch ends."""


class TemplateIn(msgspec.Struct):
    """``POST /v1/templates``: a saved preset (see gateway/templates.py)."""

    name: str
    model: str
    prompt: str = "{prompt}"
    size: str | None = None
    aspect_ratio: str | None = None
    style: str | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    guidance: float | None = None
    as_model: bool = False


class ImageReference(msgspec.Struct):
    """OpenAI's newer form of an input picture: ``{"image_url": "…"}`` (or ``{"image_url": {"url": "…"}}``)."""

    image_url: str | ImageUrl | None = None
    file_id: str | None = None

    def link(self) -> str | None:
        return self.image_url.url if isinstance(self.image_url, ImageUrl) else self.image_url


class ImageEditRequest(msgspec.Struct):
    """``POST /v1/images/edits`` and ``/variations`` as JSON, or their multipart fields converted to it."""

    prompt: str = ""
    image: str | list[str] | None = None
    """Base64, a ``data:`` URI or an http(s) link; a list for several pictures."""
    images: list[ImageReference] | None = None
    mask: str | ImageReference | None = None
    model: str | None = None
    n: int = 1
    size: str | None = None
    response_format: str | None = None
    user: str | None = None
    strength: float | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    seed: int | None = None
    guidance: float | None = None
    output_format: str | None = None
    output_compression: int | None = None
    template_id: str | None = None
    template: str | None = None

    def references(self) -> list[str]:
        """Every input picture named in the body, in order."""
        listed = [self.image] if isinstance(self.image, str) else list(self.image or [])
        return listed + [link for reference in self.images or [] if (link := reference.link())]

    def mask_reference(self) -> str | None:
        return self.mask.link() if isinstance(self.mask, ImageReference) else self.mask


class ImageData(msgspec.Struct, omit_defaults=True):
    revised_prompt: str
    url: str | None = None
    b64_json: str | None = None


class ImageUsage(msgspec.Struct):
    """OpenAI's ``usage`` of an images answer, where the vendor reported it."""

    input_tokens: int
    output_tokens: int
    total_tokens: int


class ImagesResponse(msgspec.Struct):
    created: int
    data: list[ImageData]
    usage: ImageUsage | msgspec.UnsetType = msgspec.UNSET


class ImagePart(msgspec.Struct):
    """A picture in ``message.images`` / ``delta.images``, OpenRouter's shape for image output."""

    image_url: ImageUrl
    type: str = "image_url"


class AssistantMessage(msgspec.Struct):
    content: str
    role: str = "assistant"
    reasoning_content: str | msgspec.UnsetType = msgspec.UNSET
    """The rewriting LLM's thinking (reasoning mode), where chat UIs look for it."""
    images: list[ImagePart] | msgspec.UnsetType = msgspec.UNSET
    """The pictures by link (``CHAT_IMAGES_FIELD``), for clients that read OpenRouter's shape."""


class Choice(msgspec.Struct):
    message: AssistantMessage
    index: int = 0
    finish_reason: str = "stop"


class Usage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    object: str = "chat.completion"


class Delta(msgspec.Struct, omit_defaults=True):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    images: list[ImagePart] | None = None


class ChunkChoice(msgspec.Struct):
    delta: Delta
    index: int = 0
    finish_reason: str | None = None


class ChatCompletionChunk(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[ChunkChoice]
    object: str = "chat.completion.chunk"
    usage: Usage | msgspec.UnsetType = msgspec.UNSET
    """Only on the last chunk, and only when the request asked for it (``stream_options.include_usage``)."""


class ModelCard(msgspec.Struct):
    id: str
    created: int
    owned_by: str
    object: str = "model"
    cost_per_image: float | msgspec.UnsetType = msgspec.UNSET
    """The price of a picture from the model's first group, when ``IMAGE_GEN_COST_n`` sets one."""


class ModelRoute(msgspec.Struct, omit_defaults=True):
    """One vendor group serving a model: its name, wire type, its own id for the model, and the price if set."""

    group: str
    type: str
    vendor_model: str
    edits: bool
    """Takes an input picture (``/v1/images/edits``, pictures in chat)."""
    cost_per_image: float | None = None


class ModelDetail(msgspec.Struct):
    id: str
    created: int
    owned_by: str
    served_by: list[ModelRoute]
    object: str = "model"


class ModelList(msgspec.Struct):
    data: list[ModelCard]
    object: str = "list"


class Health(msgspec.Struct):
    status: str


class KeyHealth(msgspec.Struct, omit_defaults=True):
    key: str
    state: str
    seconds_left: float | None = None


class RouteHealth(msgspec.Struct):
    model: str
    vendor_model: str
    healthy: bool
    can_try: bool


class ProviderHealth(msgspec.Struct):
    name: str
    type: str
    keys: list[KeyHealth]
    routes: list[RouteHealth]


class Readiness(msgspec.Struct, omit_defaults=True):
    status: str
    ok: list[str]
    failing: dict[str, str]
    providers: list[ProviderHealth]
    rewriting: ProviderHealth | None = None
    """The prompt-rewriting LLM's keys, when one is configured (a failing LLM never makes the gateway unready)."""
    shared_state: str | None = None
    """``redis`` or ``redis unavailable (serving from local state)`` with ``REDIS_URL``; absent without."""


class ImageRecordOut(msgspec.Struct):
    id: str
    created_at: int
    client: str
    model: str
    route: str
    endpoint: str
    idea: str
    prompt: str
    width: int
    height: int
    seed: int | None
    input_image: str | None
    image: str
    url: str
    cost: float | None
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float
    attempts: int
    object: str = "image"


class BatchCounts(msgspec.Struct):
    total: int
    completed: int
    failed: int
    cancelled: int


class BatchItemOut(msgspec.Struct):
    index: int
    prompt: str
    status: str
    """``queued``, ``running``, ``done``, ``failed`` or ``cancelled``."""
    error: str | None
    images: list[ImageRecordOut]


class BatchOut(msgspec.Struct):
    """A batch as ``/v1/images/batches`` shows it (and its webhook sends it); ``items`` only for one batch."""

    id: str
    status: str
    """``in_progress``, ``completed`` or ``cancelled``."""
    model: str
    created_at: int
    finished_at: int | None
    request_counts: BatchCounts
    webhook_url: str | None
    webhook_status: str | None
    items: list[BatchItemOut] | None = None
    object: str = "image.batch"


class BatchList(msgspec.Struct):
    data: list[BatchOut]
    object: str = "list"


class ClientIn(msgspec.Struct):
    """``POST /v1/admin/clients``: a client's name and, optionally, its limits (``CLIENT_LIMITS``'s fields)."""

    name: str
    limits: dict[str, float] | None = None


class ClientChange(msgspec.Struct):
    """``PATCH /v1/admin/clients/{id}``: new limits (null: ``CLIENT_LIMITS`` applies again)."""

    limits: dict[str, float] | None


class ClientOut(msgspec.Struct):
    id: str
    name: str
    key_hint: str
    limits: dict[str, float] | None
    created_at: int
    revoked: bool
    key: str | msgspec.UnsetType = msgspec.UNSET
    """The key itself: only in the answer that made it (creation, rotation); it is kept hashed."""
    object: str = "client"


class ClientList(msgspec.Struct):
    data: list[ClientOut]
    object: str = "list"


def to_json(value: Any) -> bytes:
    return msgspec.json.encode(value)
