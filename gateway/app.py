"""``create_app(settings)``: wiring only."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide

from config import Settings, load_settings
from gateway import resources
from gateway.auth import check_anonymous_binding, client_key_middleware
from gateway.cors import cors_config
from gateway.errors import EXCEPTION_HANDLERS
from gateway.logging import configure_logging, request_log_middleware
from gateway.openapi import get_openapi, openapi_config
from gateway.routes.batches import cancel_image_batch, create_batch, get_image_batch, list_image_batches
from gateway.routes.chat import create_chat_completion
from gateway.routes.clients import (
    change_client,
    create_client,
    get_client,
    list_clients,
    revoke_client,
    rotate_client_key,
)
from gateway.routes.edits import create_image_edit, create_image_variation
from gateway.routes.health import get_health, get_readiness
from gateway.routes.images import create_images
from gateway.routes.media import get_image, get_signed_image
from gateway.routes.metrics import get_metrics
from gateway.routes.models import get_model, list_models
from gateway.routes.playground import get_playground
from gateway.routes.records import (
    delete_image_record,
    get_cost_analytics,
    get_image_record,
    get_usage,
    list_image_records,
)
from gateway.routes.templates import create_template, delete_template, get_template, list_templates


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging(settings.log_format, settings.log_level, secrets=settings.secret_values())
    check_anonymous_binding(settings)
    api = Router(
        path="/v1",
        route_handlers=[
            create_chat_completion,
            create_images,
            create_image_edit,
            create_image_variation,
            list_models,
            get_model,
            list_image_records,
            get_image_record,
            delete_image_record,
            get_usage,
            create_template,
            list_templates,
            create_batch,
            list_image_batches,
            get_image_batch,
            cancel_image_batch,
            create_client,
            list_clients,
            get_client,
            change_client,
            rotate_client_key,
            revoke_client,
            get_template,
            delete_template,
        ],
        middleware=[client_key_middleware],
    )
    seed_api = Router(path="/api", route_handlers=[get_cost_analytics], middleware=[client_key_middleware])
    return Litestar(
        route_handlers=[
            api,
            seed_api,
            get_health,
            get_readiness,
            get_image,
            get_signed_image,
            get_playground,
            get_openapi,
            get_metrics,
        ],
        lifespan=[resources.lifespan],
        state=State({"settings": settings}),
        dependencies={
            "resources": Provide(resources.provide_resources, sync_to_thread=False),
            **{name: resources.from_resources(name) for name in resources.INJECTED},
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_log_middleware],
        cors_config=cors_config(settings),
        openapi_config=openapi_config(),
        logging_config=None,
    )
