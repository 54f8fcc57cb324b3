"""Request bodies decoded by hand, so every malformed body becomes an OpenAI error naming the field."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request

from gateway.errors import InvalidRequest

T = TypeVar("T")
FIELD_AT = re.compile(r"at `\$\.([A-Za-z_]\w*)")
MISSING_FIELD = re.compile(r"missing required field `(\w+)`")


async def read_body(request: Request[Any, Any, Any], body_type: type[T]) -> T:
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("the request body is empty; send a JSON object")
    try:
        return msgspec.json.decode(raw, type=body_type)
    except msgspec.ValidationError as error:
        text = str(error)
        found = MISSING_FIELD.search(text) or FIELD_AT.search(text)
        raise InvalidRequest(f"invalid request body: {text}", param=found.group(1) if found else None) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise InvalidRequest("the request body is not valid JSON in UTF-8") from None
    except RecursionError:
        raise InvalidRequest("the request body nests too deeply") from None
