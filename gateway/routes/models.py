"""``GET /v1/models`` and ``GET /v1/models/{id}`` in the OpenAI list shape."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from gateway.router import Router
from gateway.schemas import ModelCard, ModelList


def model_card(router: Router, model: str) -> ModelCard:
    routes = router.routes_for(model)
    return ModelCard(id=model, created=router.created, owned_by=routes[0].group.name)


@get("/models")
async def list_models(router: NamedDependency[Router]) -> ModelList:
    return ModelList(data=[model_card(router, model) for model in router.models])


@get("/models/{model_id:path}")
async def get_model(router: NamedDependency[Router], model_id: FromPath[str]) -> ModelCard:
    return model_card(router, model_id.lstrip("/"))
