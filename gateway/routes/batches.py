"""``/v1/images/batches``: submit many prompts at once, follow their progress, cancel what is left.

``POST`` checks every prompt as a generations request would be checked, keeps
the batch and answers ``202`` with its id at once; the pictures are made in the
background (gateway/batches.py). ``GET /v1/images/batches/{id}`` shows each
prompt's state and records. A client sees its own batches; ``ADMIN_API_KEY``
sees all.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from gateway.auth import client_of
from gateway.errors import InvalidRequest, NotFound
from gateway.image_options import rewrite_wanted
from gateway.records.batches import cancel_batch, get_batch, list_batches
from gateway.records.schema import BatchItemRow, BatchRow
from gateway.resources import Resources
from gateway.routes.body import read_body
from gateway.routes.records import visible_to
from gateway.schemas import BatchList, BatchOut, GenerationOptions, ImageBatchRequest
from gateway.urls import public_base_url
from gateway.views import batch_shown, batches_shown

MAX_LISTED = 100


@post("/images/batches", status_code=202)
async def create_batch(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> BatchOut:
    body = await read_body(request, ImageBatchRequest)
    settings = resources.settings
    if not body.prompts:
        raise InvalidRequest("prompts must list at least one prompt", param="prompts")
    if len(body.prompts) > settings.batch_max_prompts:
        raise InvalidRequest(f"a batch takes at most {settings.batch_max_prompts} prompts", param="prompts")
    if body.response_format not in (None, "url"):
        raise InvalidRequest("a batch's pictures are links: response_format must be 'url'", param="response_format")
    fields = msgspec.structs.asdict(body)
    del fields["prompts"], fields["webhook_url"]
    options = GenerationOptions(**fields | {"rewrite": rewrite_wanted(body.rewrite, request.headers)})
    plans = []
    for index, prompt in enumerate(body.prompts):
        try:
            plans.append(resources.batches.plan(options, prompt))
        except InvalidRequest as invalid:
            if invalid.param != "prompt":
                raise
            raise InvalidRequest(f"prompts[{index}]: {invalid.message}", param=f"prompts[{index}]") from None
    webhook = await resources.webhooks.checked(body.webhook_url) if body.webhook_url else None
    client = client_of(request)
    await resources.accounting.allow(client, plans[0].model, plans[0].n)  # a client at its limit hears it now
    batch = await resources.batches.submit(
        client=client,
        model=plans[0].model,
        options=options,
        prompts=body.prompts,
        base_url=public_base_url(request, settings),
        webhook=webhook,
    )
    return await batch_shown(resources.database, *await _own(request, resources, batch.id))


@get("/images/batches")
async def list_image_batches(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], limit: FromQuery[int] = 20
) -> BatchList:
    if not 1 <= limit <= MAX_LISTED:
        raise InvalidRequest(f"limit must be 1 to {MAX_LISTED}", param="limit")
    batches = await list_batches(resources.database, client=visible_to(request), limit=limit)
    return BatchList(await batches_shown(resources.database, batches))


@get("/images/batches/{batch_id:str}")
async def get_image_batch(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], batch_id: FromPath[str]
) -> BatchOut:
    batch, items = await _own(request, resources, batch_id)
    return await batch_shown(resources.database, batch, items)


@post("/images/batches/{batch_id:str}/cancel", status_code=200)
async def cancel_image_batch(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], batch_id: FromPath[str]
) -> BatchOut:
    """Queued prompts are dropped; those being made finish and are kept. Cancelling an ended batch is a 400."""
    await _own(request, resources, batch_id)
    if not await cancel_batch(resources.database, batch_id):
        raise InvalidRequest(f"batch '{batch_id}' has ended already", param="batch_id")
    batch, items = await _own(request, resources, batch_id)
    return await batch_shown(resources.database, batch, items)


async def _own(
    request: Request[Any, Any, Any], resources: Resources, batch_id: str
) -> tuple[BatchRow, list[BatchItemRow]]:
    found = await get_batch(resources.database, batch_id)
    client = visible_to(request)
    if found is None or (client is not None and found[0].client != client):
        raise NotFound(f"no batch '{batch_id}'")
    return found
