"""The SSE answer of a streamed chat request.

The role chunk goes out at once; while the image is made, SSE comments keep the
connection alive through proxies; then the content, a finish chunk and
``[DONE]``. A failure arrives as an error event, not a dropped connection. If
the client goes away, the generation still finishes and the image is stored.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import structlog

from gateway.errors import ApiError
from gateway.render import SSE_DONE, SSE_KEEPALIVE, chunk, sse
from gateway.schemas import Delta

log = structlog.get_logger("gateway.streaming")


class BackgroundWork:
    """Tasks that must outlive the request that started them (a generation whose client left)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[str]] = set()

    def start(self, work: Coroutine[Any, Any, str], context: contextvars.Context) -> asyncio.Task[str]:
        task = asyncio.create_task(work, context=context)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[str]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("background.finished_with_error", error=type(task.exception()).__name__)

    async def drain(self, grace: float) -> None:
        """Let running generations finish (and store their images) before shutdown."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)


Think = Callable[[str], None]


async def stream_chat(
    make_content: Callable[[Think], Coroutine[Any, Any, str]],
    *,
    completion: str,
    model: str,
    keepalive: float,
    background: BackgroundWork,
) -> AsyncIterator[bytes]:
    """Role chunk; thinking as ``reasoning_content`` deltas while it arrives (keep-alives when quiet); the content."""
    yield chunk(completion, model, Delta(role="assistant", content=""))
    thoughts: asyncio.Queue[str | None] = asyncio.Queue()  # None: the content is ready
    context = contextvars.copy_context()
    task = background.start(make_content(thoughts.put_nowait), context)
    task.add_done_callback(lambda _: thoughts.put_nowait(None))
    try:
        while True:
            try:
                thought = await asyncio.wait_for(thoughts.get(), timeout=keepalive)
            except TimeoutError:
                yield SSE_KEEPALIVE
                continue
            if thought is None:
                break
            yield chunk(completion, model, Delta(reasoning_content=thought))
    except (asyncio.CancelledError, GeneratorExit):
        log.info("stream.client_disconnected", generation="finished" if task.done() else "continues in background")
        raise
    structlog.contextvars.bind_contextvars(**context.run(structlog.contextvars.get_contextvars))
    try:
        content = task.result()
    except ApiError as error:
        log.info("stream.failed", status=error.status_code, code=error.code)
        yield sse(error.body())
        yield SSE_DONE
        return
    except Exception as error:
        log.error("stream.unhandled_exception", exc_info=error)
        yield sse(ApiError("the gateway hit an internal error; it has been logged").body())
        yield SSE_DONE
        return
    yield chunk(completion, model, Delta(content=content))
    yield chunk(completion, model, Delta(), finish_reason="stop")
    yield SSE_DONE
