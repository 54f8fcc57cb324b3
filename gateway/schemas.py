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


class ContentPart(msgspec.Struct):
    type: str = "text"
    text: str | None = None


class ChatMessage(msgspec.Struct):
    role: str
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """String content as is; the text parts of a content array, joined."""
        if isinstance(self.content, str):
            return self.content
        parts = [part.text for part in self.content or [] if part.type == "text" and part.text]
        return "\n".join(parts)


class ChatCompletionRequest(msgspec.Struct):
    model: str
    messages: list[ChatMessage]
    stream: bool = False
    user: str | None = None
    rewrite: bool | None = None
    """Extra body field: ``false`` sends the prompt to the vendor as written."""


class AssistantMessage(msgspec.Struct):
    content: str
    role: str = "assistant"
    reasoning_content: str | msgspec.UnsetType = msgspec.UNSET
    """The rewriting LLM's thinking (reasoning mode), where chat UIs look for it."""


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


class ModelCard(msgspec.Struct):
    id: str
    created: int
    owned_by: str
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


def to_json(value: Any) -> bytes:
    return msgspec.json.encode(value)
