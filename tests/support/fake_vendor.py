"""A fake image vendor speaking every wire protocol the gateway knows, for e2e tests and benchmarks.

Run: ``python tests/support/fake_vendor.py --port 9100 --latency 0.05``. Paths:

- ``POST /openai/images/generations``      OpenAI type, ``b64_json`` replies
- ``POST /openai-url/images/generations``  OpenAI type, ``url`` replies
- ``POST /siliconflow``                    SiliconFlow type, temporary ``images[].url``
- ``POST /chat/completions``               chat type, Markdown image link in the reply
- ``POST /cloudflare/{model}``             Workers AI: JSON base64 for flux-1-schnell, raw PNG otherwise
- ``GET  /files/{w}x{h}.png``              the images the url replies point at
- ``GET  /received``                       every image request body so far, as a JSON list of ``{path, body}``
- ``POST /llm/chat/completions``           a reasoning LLM for prompt rewriting: ``reasoning_content`` then the
                                           prompt; with ``stream: true`` as SSE, a piece every 50 ms

A bearer key starting with ``dead`` gets 401, ``busy`` gets 429 (Retry-After 30).
``--pad-kb N`` appends N KiB after each PNG's end chunk (decoders ignore it), for realistic payload sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import re
from functools import lru_cache
from typing import Any

import uvicorn
from PIL import Image

Scope = dict[str, Any]


PAD = bytearray()


@lru_cache(maxsize=64)
def picture(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), ((width * 7) % 256, (height * 3) % 256, 120)).save(out, format=fmt)
    return out.getvalue() + (bytes(PAD) if fmt == "PNG" else b"")


def size_of(body: dict[str, Any]) -> tuple[int, int]:
    raw = str(body.get("size") or body.get("image_size") or "")
    match = re.fullmatch(r"(\d+)x(\d+)", raw)
    if match:
        return int(match.group(1)), int(match.group(2))
    return int(body.get("width", 1024)), int(body.get("height", 1024))


class FakeVendor:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/llm/chat/completions" and json.loads(body or b"{}").get("stream"):
            await self.stream_llm(json.loads(body), send)
            return
        status, content_type, payload = await self.handle(scope, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode()), (b"retry-after", b"30")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def handle(self, scope: Scope, raw: bytes) -> tuple[int, str, bytes]:
        path: str = scope["path"]
        host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
        if scope["method"] == "GET" and path == "/received":
            return 200, "application/json", json.dumps(self.received).encode()
        if scope["method"] == "GET" and path.startswith("/files/"):
            match = re.fullmatch(r"/files/(\d+)x(\d+)\.png", path)
            if not match:
                return 404, "text/plain", b"gone"
            return 200, "image/png", picture(int(match.group(1)), int(match.group(2)))
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        key = auth.removeprefix("Bearer ")
        if key.startswith(("dead", "busy")):
            self.received.append({"path": path, "key": key, "refused": True})
        if key.startswith("dead"):
            return 401, "application/json", b'{"error": {"message": "invalid api key"}}'
        if key.startswith("busy"):
            return 429, "application/json", b'{"error": {"message": "slow down"}}'
        body = json.loads(raw or b"{}")
        if not path.startswith("/llm"):
            self.received.append({"path": path, "body": body, "key": key})
        await asyncio.sleep(self.latency)
        if path.startswith("/openai"):
            width, height = size_of(body)
            n = int(body.get("n", 1))
            if path.startswith("/openai-url"):
                items = [{"url": f"http://{host}/files/{width}x{height}.png"}] * n
            else:
                items = [{"b64_json": base64.b64encode(picture(width, height)).decode()}] * n
            return 200, "application/json", json.dumps({"created": 0, "data": items}).encode()
        if path == "/siliconflow":
            width, height = size_of(body)
            images = [{"url": f"http://{host}/files/{width}x{height}.png"}]
            return 200, "application/json", json.dumps({"images": images, "seed": 1}).encode()
        if path == "/chat/completions":
            text = f"Here you go: ![image](http://{host}/files/1024x1024.png)"
            reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
            return 200, "application/json", json.dumps(reply).encode()
        if path == "/llm/chat/completions":
            thinking, prompt = llm_answer(body)
            message = {"role": "assistant", "reasoning_content": "".join(thinking), "content": prompt}
            return 200, "application/json", json.dumps({"choices": [{"index": 0, "message": message}]}).encode()
        if path.startswith("/cloudflare/"):
            if path.endswith("flux-1-schnell"):
                image = base64.b64encode(picture(1024, 1024, "JPEG")).decode()
                return 200, "application/json", json.dumps({"success": True, "result": {"image": image}}).encode()
            width, height = size_of(body)
            return 200, "image/png", picture(width, height)
        return 404, "application/json", b'{"error": {"message": "no such path"}}'

    async def stream_llm(self, body: dict[str, Any], send: Any) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        thinking, prompt = llm_answer(body)
        deltas = [{"role": "assistant", "content": ""}]
        deltas += [{"reasoning_content": piece} for piece in thinking]
        deltas += [{"content": word + " "} for word in prompt.split(" ")]
        for delta in deltas:
            await asyncio.sleep(0.05)
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
            await send(
                {"type": "http.response.body", "body": f"data: {json.dumps(chunk)}\n\n".encode(), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


def llm_answer(body: dict[str, Any]) -> tuple[list[str], str]:
    """The fake LLM's thinking (in pieces) and prompt for the last user message."""
    idea = body["messages"][-1]["content"]
    thinking = ["The user wants ", f"{idea}. ", "A cinematic photograph ", "in soft morning light suits it."]
    return thinking, f"a cinematic photograph of {idea}, soft morning light, gentle mist, calm mood"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--pad-kb", type=int, default=0)
    args = parser.parse_args()
    PAD.extend(os.urandom(args.pad_kb * 1024))
    uvicorn.run(
        FakeVendor(args.latency), host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="on"
    )


if __name__ == "__main__":
    main()
