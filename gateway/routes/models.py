"""``GET /v1/models`` and ``GET /v1/models/{id}`` in the OpenAI list shape.

Each model is ``owned_by`` the first vendor group that serves it; the detail
view lists every group that does, the vendor's own id there, whether it takes
an input picture (edits), and the price per image when ``IMAGE_GEN_COST_n`` sets one.
"""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from gateway.resources import Resources
from gateway.router import Router
from gateway.schemas import ModelCard, ModelDetail, ModelList, ModelRoute


def model_card(router: Router, model: str) -> ModelCard:
    routes = router.routes_for(model)
    first = routes[0].group
    card = ModelCard(id=model, created=router.created, owned_by=first.name)
    price = first.cost_of(model)
    if price is not None:
        card.cost_per_image = price
    return card


@get("/models")
async def list_models(resources: NamedDependency[Resources]) -> ModelList:
    """The configured models, then the templates saved as models (``owned_by: template``)."""
    router = resources.router
    templates = [
        ModelCard(id=template.name, created=router.created, owned_by="template")
        for template in resources.templates.models()
    ]
    return ModelList(data=[model_card(router, model) for model in router.models] + templates)


@get("/models/{model_id:path}")
async def get_model(router: NamedDependency[Router], model_id: FromPath[str]) -> ModelDetail:
    model = model_id.lstrip("/")
    card = model_card(router, model)
    served_by = [
        ModelRoute(route.group.name, route.group.type, route.vendor_model, route.can_edit, route.group.cost_of(model))
        for route in router.routes_for(model)
    ]
    return ModelDetail(id=card.id, created=card.created, owned_by=card.owned_by, served_by=served_by)
