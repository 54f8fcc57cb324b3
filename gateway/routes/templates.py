"""``/v1/templates``: save, list, read and delete presets (see ``gateway/templates.py``)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from gateway.auth import client_of
from gateway.errors import InvalidRequest, NotFound
from gateway.image_options import MAX_TEXT, Extras, check_extras, ratio_size, requested_size
from gateway.resources import Resources
from gateway.routes.body import read_body
from gateway.routes.records import visible_to
from gateway.schemas import TemplateIn
from gateway.templates import Template

MAX_STYLE = 200
"""The column's width: a longer style is a 400, not a database error."""


class TemplateOut(TemplateIn, kw_only=True):
    """A saved template as the API shows it: what was sent, and its id."""

    id: str
    object: str = "template"


class TemplateList(msgspec.Struct):
    data: list[TemplateOut]
    object: str = "list"


class DeletedTemplate(msgspec.Struct):
    id: str
    deleted: bool = True
    object: str = "template"


@post("/templates", status_code=201)
async def create_template(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> TemplateOut:
    body = await read_body(request, TemplateIn)
    name = body.name.strip()
    if not name or len(name) > 100:
        raise InvalidRequest("name must be 1 to 100 characters", param="name")
    if len(body.prompt) > MAX_TEXT:
        raise InvalidRequest(f"prompt is longer than {MAX_TEXT} characters", param="prompt")
    router = resources.pipeline.router
    router.routes_for(body.model)
    if name in router.routes:
        raise InvalidRequest(f"'{name}' is already a model's name", param="name")
    requested_size(body.size, multiple=resources.pipeline.size_multiple(body.model))
    if body.aspect_ratio:
        ratio_size(body.aspect_ratio, resources.settings.aspect_ratios)
    if body.style is not None and len(body.style) > MAX_STYLE:
        raise InvalidRequest(f"style is longer than {MAX_STYLE} characters", param="style")
    check_extras(Extras(None, body.steps, body.negative_prompt, body.guidance))  # presets: the requests' own bounds
    fields = msgspec.structs.asdict(body) | {"name": name}
    saved = await resources.templates.create(Template(id="", client=client_of(request), **fields))
    return shown(saved)


@get("/templates")
async def list_templates(request: Request[Any, Any, Any], resources: NamedDependency[Resources]) -> TemplateList:
    return TemplateList([shown(template) for template in resources.templates.visible_to(visible_to(request))])


@get("/templates/{template_id:str}")
async def get_template(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], template_id: FromPath[str]
) -> TemplateOut:
    visible = {template.id: template for template in resources.templates.visible_to(visible_to(request))}
    if template_id not in visible:
        raise NotFound(f"no template '{template_id}'")
    return shown(visible[template_id])


@delete("/templates/{template_id:str}", status_code=200)
async def delete_template(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources], template_id: FromPath[str]
) -> DeletedTemplate:
    await resources.templates.delete(template_id, visible_to(request))
    return DeletedTemplate(template_id)


def shown(template: Template) -> TemplateOut:
    fields = {name: getattr(template, name) for name in TemplateOut.__struct_fields__ if name != "object"}
    return TemplateOut(**fields)
