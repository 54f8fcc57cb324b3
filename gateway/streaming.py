"""The SSE answer of a streamed chat request.

The role chunk goes out at once; while the image is made the client sees
progress (the turn read, model and size, the prompt, a line per failover) and
the rewriting LLM's thinking as ``reasoning_content`` deltas, which chat UIs
show as a "thinking" block that folds away (``CHAT_PROGRESS=content`` puts the
progress lines in the answer instead, ``off`` leaves them out); SSE comments
keep a quiet connection alive through proxies; then the content, a finish
chunk, the usage chunk if asked for, and ``[DONE]``. A failure arrives as an
error event, not a dropped connection. If the client goes away, the generation
still finishes and the image is stored.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Literal, TypeVar

import structlog

from gateway.errors import ApiError
from gateway.render import SSE_DONE, SSE_KEEPALIVE, chunk, sse, stream_end, usage_of
from gateway.schemas import Delta

ProgressMode = Literal["reasoning", "content", "off"]
T = TypeVar("T")

log = structlog.get_logger("gateway.streaming")


class BackgroundWork:
    """Tasks that must outlive the request that started them (a generation whose client left)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Coroutine[Any, Any, T], context: contextvars.Context) -> asyncio.Task[T]:
        task = asyncio.create_task(work, context=context)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("background.finished_with_error", error=type(task.exception()).__name__)

    async def drain(self, grace: float) -> None:
        """Let running generations finish (and store their images) before shutdown."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)


class Relay:
    """The live part of a streamed answer: the LLM's thinking, and progress lines where ``CHAT_PROGRESS`` puts them."""

    def __init__(self, progress: ProgressMode) -> None:
        self._mode = progress
        self.deltas: asyncio.Queue[Delta | None] = asyncio.Queue()  # None: the answer is ready
        self._mid_line = False

    def think(self, text: str) -> None:
        if text:
            self._mid_line = not text.endswith("\n")
            self.deltas.put_nowait(Delta(reasoning_content=text))

    def progress(self, line: str) -> None:
        if self._mode == "content":
            self.deltas.put_nowait(Delta(content=f"{line}\n\n"))
        elif self._mode == "reasoning":
            self.think(f"\n{line}\n" if self._mid_line else f"{line}\n")


async def stream_chat(
    make_answer: Callable[[Relay], Coroutine[Any, Any, Delta]],
    *,
    completion: str,
    model: str,
    progress: ProgressMode,
    keepalive: float,
    background: BackgroundWork,
    usage_prompt: str | None = None,
) -> AsyncIterator[bytes]:
    """Role chunk; live deltas while they arrive (keep-alives when quiet); the answer; usage if ``usage_prompt``."""
    yield chunk(completion, model, Delta(role="assistant", content=""))
    relay = Relay(progress)
    context = contextvars.copy_context()
    task = background.start(make_answer(relay), context)
    task.add_done_callback(lambda _: relay.deltas.put_nowait(None))
    try:
        while True:
            try:
                delta = await asyncio.wait_for(relay.deltas.get(), timeout=keepalive)
            except TimeoutError:
                yield SSE_KEEPALIVE
                continue
            if delta is None:
                break
            yield chunk(completion, model, delta)
    except (asyncio.CancelledError, GeneratorExit):
        log.info("stream.client_disconnected", generation="finished" if task.done() else "continues in background")
        raise
    structlog.contextvars.bind_contextvars(**context.run(structlog.contextvars.get_contextvars))
    try:
        answer = task.result()
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
    yield chunk(completion, model, Delta(content=answer.content))
    if answer.images:  # a chunk of their own: LobeChat drops the content of a chunk that carries images
        yield chunk(completion, model, Delta(images=answer.images))
    usage = None if usage_prompt is None else usage_of(usage_prompt, answer.content or "")
    for ending in stream_end(completion, model, usage):
        yield ending
