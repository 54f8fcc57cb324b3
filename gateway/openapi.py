"""The OpenAPI document at ``/openapi.json`` (and litestar's Swagger UI at ``/docs``), from the handlers' own types.

litestar documents the paths and what each handler returns. The handlers read
their bodies themselves (so every malformed field becomes an OpenAI error that
names it), so litestar cannot see the request types: the request bodies and
the OpenAI-style error answers are added from the same msgspec structs the
handlers decode with (``msgspec.json.schema_components``), once, at startup.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from gateway.schemas import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ClientChange,
    ClientIn,
    ErrorBody,
    ImageBatchRequest,
    ImageEditRequest,
    ImageGenerationRequest,
    ImagesResponse,
    TemplateIn,
)

Document = dict[str, Any]
REF = "#/components/schemas/{name}"
JSON_BODIES: dict[tuple[str, str], type[msgspec.Struct]] = {
    ("/v1/chat/completions", "post"): ChatCompletionRequest,
    ("/v1/images/generations", "post"): ImageGenerationRequest,
    ("/v1/images/edits", "post"): ImageEditRequest,
    ("/v1/images/variations", "post"): ImageEditRequest,
    ("/v1/templates", "post"): TemplateIn,
    ("/v1/images/batches", "post"): ImageBatchRequest,
    ("/v1/admin/clients", "post"): ClientIn,
    ("/v1/admin/clients/{client_id}", "patch"): ClientChange,
}
ANSWERS: dict[str, type[msgspec.Struct]] = {
    "/v1/chat/completions": ChatCompletion,
    "/v1/images/generations": ImagesResponse,
    "/v1/images/edits": ImagesResponse,
    "/v1/images/variations": ImagesResponse,
}
MULTIPART = frozenset({"/v1/images/edits", "/v1/images/variations"})
ERRORS = {
    "400": "the request is invalid (the error names the field in `param`)",
    "401": "missing or incorrect client key",
    "404": "unknown model or route",
    "502": "every vendor failed",
    "503": "every key is cooling down or every vendor queue is full (see Retry-After)",
}
STREAMED = "/v1/chat/completions"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="imagegate",
        version=version("imagegate"),
        description="An OpenAI-compatible gateway that makes pictures through many vendors.",
        path="/docs",
        render_plugins=[SwaggerRenderPlugin(path="/")],
    )


def completed(app: Litestar) -> Document:
    """The app's OpenAPI document with the request bodies and errors added (in place: litestar caches it)."""
    document: Document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    if document.get("x-imagegate-completed"):
        return document
    structs = [*dict.fromkeys([*JSON_BODIES.values(), *ANSWERS.values()]), ErrorBody, ChatCompletionChunk]
    _, components = msgspec.json.schema_components(structs, ref_template=REF)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in components.items():
        schemas.setdefault(name, schema)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or not path.startswith("/v1/"):
                continue
            body = JSON_BODIES.get((path, method))
            if body is not None:
                operation["requestBody"] = _request_body(path, body)
            responses = operation.setdefault("responses", {})
            answer_type = ANSWERS.get(path)
            if answer_type is not None and method == "post":
                ok = responses.setdefault("200", {"description": "OK"})
                ok.setdefault("content", {})["application/json"] = {
                    "schema": {"$ref": REF.format(name=answer_type.__name__)}
                }
            for status, meaning in ERRORS.items():
                responses.setdefault(status, _error(meaning))
            if path == STREAMED and method == "post":
                answer = responses.setdefault("200", {"description": "OK"})
                answer["description"] = (
                    "a chat.completion; with `stream: true`, server-sent events: chat.completion.chunk objects as "
                    "`data:` lines, then `data: [DONE]`"
                )
                answer.setdefault("content", {})["text/event-stream"] = {
                    "schema": {"$ref": REF.format(name="ChatCompletionChunk")}
                }
    document["x-imagegate-completed"] = True
    return document


def _request_body(path: str, body: type[msgspec.Struct]) -> Document:
    content: Document = {"application/json": {"schema": {"$ref": REF.format(name=body.__name__)}}}
    if path in MULTIPART:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "image[]": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "mask": {"type": "string", "format": "binary"},
                    "prompt": {"type": "string"},
                    "model": {"type": "string"},
                    "n": {"type": "integer"},
                    "size": {"type": "string"},
                    "response_format": {"type": "string", "enum": ["url", "b64_json"]},
                    "strength": {"type": "number"},
                },
            }
        }
    return {"required": True, "content": content}


def _error(meaning: str) -> Document:
    return {"description": meaning, "content": {"application/json": {"schema": {"$ref": REF.format(name="ErrorBody")}}}}


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def get_openapi(request: Request[Any, Any, Any]) -> Document:
    return completed(request.app)
