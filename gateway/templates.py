"""Saved presets: a model, a prompt with ``{prompt}`` where the user's idea goes, a size or ratio, style and extras.

A request names one with ``template_id`` or ``template`` (by name); a template
saved ``as_model`` is also listed in ``/v1/models`` under its name, so a chat
UI user can pick "Product photo" from the model list. The fields a request
gives itself win over the template's. Templates are read from the database at
start and kept in memory (each process sees its own changes at once; other
replicas at their next start, until shared state lands).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import delete, select

from gateway.errors import InvalidRequest, NotFound
from gateway.records import Database
from gateway.records.schema import TemplateRow

PLACEHOLDER = "{prompt}"
PRESET_FIELDS = ("size", "aspect_ratio", "style", "negative_prompt", "steps", "guidance")
B = TypeVar("B", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    client: str
    name: str
    model: str
    prompt: str
    size: str | None = None
    aspect_ratio: str | None = None
    style: str | None = None
    negative_prompt: str | None = None
    steps: int | None = None
    guidance: float | None = None
    as_model: bool = False

    def apply(self, idea: str) -> str:
        """The template's prompt with the idea in place of ``{prompt}`` (after it, when there is no placeholder)."""
        if PLACEHOLDER in self.prompt:
            return self.prompt.replace(PLACEHOLDER, idea.strip())
        return ", ".join(part for part in (idea.strip(), self.prompt.strip()) if part)


def filled(
    body: B, template: Template | None, *, prompt: str | None = "prompt", fields: Sequence[str] = PRESET_FIELDS
) -> B:
    """``body`` with the template's model (unless the request names another real model), its prompt around the
    request's (``prompt`` names the field), and its presets where the request left them out."""
    if template is None:
        return body
    changes: dict[str, Any] = {}
    for name in fields:
        if hasattr(body, name) and getattr(body, name) is None and getattr(template, name) is not None:
            changes[name] = getattr(template, name)
    model = getattr(body, "model", None)
    if not model or model == template.name:
        changes["model"] = template.model
    if prompt is not None:
        changes[prompt] = template.apply(getattr(body, prompt))
    return msgspec.structs.replace(body, **changes)


class Templates:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._by_id: dict[str, Template] = {}
        self._by_name: dict[str, Template] = {}

    async def load(self) -> None:
        async with self._database.sessions() as session:
            rows = (await session.scalars(select(TemplateRow))).all()
        self._by_id = {row.id: _template(row) for row in rows}
        self._by_name = {template.name: template for template in self._by_id.values()}

    def find(self, reference: str) -> Template | None:
        """A template by id or by name (asked on every chat and images request: two dictionary lookups)."""
        return self._by_id.get(reference) or self._by_name.get(reference)

    def named(self, template_id: str | None, name: str | None) -> Template | None:
        """The template a request names (``template_id`` or ``template``); a 404 for one that does not exist."""
        reference = template_id or name
        if not reference:
            return None
        found = self.find(reference)
        if found is None:
            raise NotFound(f"no template '{reference}'", param="template_id" if template_id else "template")
        return found

    def chosen(self, template_id: str | None, name: str | None, model: str | None) -> Template | None:
        """The template a request uses: named in ``template_id``/``template``, or picked as its model."""
        return self.named(template_id, name) or (self.as_model(model) if model else None)

    def as_model(self, model: str) -> Template | None:
        """The template listed as the model ``model``, if there is one."""
        found = self.find(model)
        return found if found is not None and found.as_model else None

    def models(self) -> list[Template]:
        return [template for template in self._by_id.values() if template.as_model]

    def visible_to(self, client: str | None) -> list[Template]:
        """A client's own templates and those listed as models; every one for the admin (None)."""
        return [t for t in self._by_id.values() if client is None or t.client == client or t.as_model]

    async def create(self, template: Template) -> Template:
        if self.find(template.name) is not None:
            raise InvalidRequest(f"a template named '{template.name}' exists already", param="name")
        saved = Template(**{**_fields(template), "id": f"tpl_{secrets.token_hex(8)}"})
        async with self._database.sessions() as session, session.begin():
            session.add(TemplateRow(**_fields(saved), created_at=datetime.now(UTC)))
        self._by_id[saved.id] = saved
        self._by_name[saved.name] = saved
        return saved

    async def delete(self, template_id: str, client: str | None) -> None:
        found = self._by_id.get(template_id)
        if found is None or (client is not None and found.client != client):
            raise NotFound(f"no template '{template_id}'")
        async with self._database.sessions() as session, session.begin():
            await session.execute(delete(TemplateRow).where(TemplateRow.id == template_id))
        del self._by_id[template_id]
        del self._by_name[found.name]


FIELDS = tuple(field.name for field in dataclasses.fields(Template))


def _fields(template: Template) -> dict[str, Any]:
    return {name: getattr(template, name) for name in FIELDS}


def _template(row: TemplateRow) -> Template:
    return Template(**{name: getattr(row, name) for name in FIELDS})
