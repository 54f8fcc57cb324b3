"""Errors as clients see them, and the one place that renders them as OpenAI error JSON.

Every failure leaves the gateway as ``{"error": {"message", "type", "param", "code"}}``::

    ApiError                      500 api_error
    ├── InvalidRequest            400 invalid_request_error (param names the field)
    │   └── VendorRejected        400 the vendor refused the prompt or size; its short message, no failover
    ├── Unauthorized              401 invalid_api_key
    ├── Forbidden                 403 e.g. a proxy link with a missing or wrong signature
    ├── NotFound                  404 not_found
    │   └── ModelNotFound         404 model_not_found (lists the available models)
    ├── MethodNotAllowed          405 method_not_allowed
    ├── UpstreamFailed            502 every route failed; the last vendor error, summarised
    └── NoCapacity                503 every key is cooling down, or every vendor's queue is full; Retry-After

Vendor bodies go to the log, never into these messages.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import structlog
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from litestar.routes import HTTPRoute
from litestar.types.internal_types import PathParameterDefinition

from gateway.schemas import ErrorBody, ErrorDetail, to_json

log = structlog.get_logger("gateway.errors")


class ApiError(Exception):
    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "api_error"
    code: ClassVar[str | None] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.specific_code = code
        """A finer code than the class's (``forbidden_address`` rather than ``upstream_failed``)."""

    def body(self) -> ErrorBody:
        code = self.specific_code or self.code
        return ErrorBody(error=ErrorDetail(message=self.message, type=self.error_type, param=self.param, code=code))


class InvalidRequest(ApiError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_request"


class VendorRejected(InvalidRequest):
    code = "vendor_rejected"


class Unauthorized(ApiError):
    status_code = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"


class Forbidden(ApiError):
    status_code = 403
    error_type = "invalid_request_error"
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class Gone(ApiError):
    status_code = 410
    error_type = "invalid_request_error"
    code = "deleted"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(ApiError):
    status_code = 405
    error_type = "invalid_request_error"
    code = "method_not_allowed"


class UpstreamFailed(ApiError):
    status_code = 502
    error_type = "upstream_error"
    code = "upstream_failed"


class ClientLimited(ApiError):
    """A client reached one of its limits (``CLIENT_LIMITS``): which one, and when it resets (``Retry-After``)."""

    status_code = 429
    error_type = "rate_limit_error"
    code = "client_limit_reached"

    def __init__(self, message: str, *, limit: str, retry_after: float) -> None:
        super().__init__(message, param=limit, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})
        self.retry_after = retry_after


class NoCapacity(ApiError):
    status_code = 503
    error_type = "upstream_error"
    code = "keys_cooling_down"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, round(retry_after)))}, code=code)
        self.retry_after = retry_after


def error_response(error: ApiError) -> Response[ErrorBody]:
    return Response(content=error.body(), status_code=error.status_code, headers=error.headers)


async def send_error(send: Any, error: ApiError) -> None:
    """``error`` straight onto an ASGI ``send``, for the places outside the app's handlers (server, middleware)."""
    payload = to_json(error.body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def handle_api_error(_: Request[Any, Any, Any], error: ApiError) -> Response[ErrorBody]:
    return error_response(error)


def handle_http_exception(request: Request[Any, Any, Any], error: HTTPException) -> Response[ErrorBody]:
    """Litestar's own 404/405/4xx (routing, unreadable bodies) in the OpenAI shape."""
    if isinstance(error, NotFoundException):
        return error_response(NotFound(f"no route for {request.method} {request.url.path}"))
    if isinstance(error, MethodNotAllowedException):
        allowed = ", ".join(allowed_methods(request.app, request.scope["path"]))
        message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        return error_response(MethodNotAllowed(message, headers={"Allow": allowed}))
    if error.status_code >= 500:
        return handle_unexpected(request, error)
    wrapped = InvalidRequest(str(error.detail))
    return Response(content=wrapped.body(), status_code=error.status_code)


def allowed_methods(app: Litestar, path: str) -> list[str]:
    """The methods the routes at ``path`` answer (litestar's 405 does not say; clients read ``Allow``)."""
    segments = [segment for segment in path.split("/") if segment]
    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and _route_matches(route.path_components, segments):
            methods |= route.methods
    return sorted(methods)


def _route_matches(components: list[Any], segments: list[str]) -> bool:
    for index, component in enumerate(components):
        if isinstance(component, PathParameterDefinition) and component.type is Path:
            return len(segments) > index  # a path parameter takes every remaining segment
        if index >= len(segments) or (isinstance(component, str) and component != segments[index]):
            return False
    return len(components) == len(segments)


def handle_unexpected(_: Request[Any, Any, Any], error: Exception) -> Response[ErrorBody]:
    """A bug of ours: logged with its traceback, answered without one."""
    log.error("request.unhandled_exception", exc_info=error)
    return error_response(ApiError("the gateway hit an internal error; it has been logged"))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
