"""The playground page (``GET /``) in Debian's chromium through Playwright, against a real ``imagegate serve``.

A person enters the key, picks the demo model, types an idea and watches it stream into the gallery; a
picture is copied as Markdown and edited; a missing or wrong key, an error inside the stream and a busy
gateway read as errors. A page from another origin calls the API with ``fetch`` and a bearer key (the CORS
acceptance test). All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Route, expect, sync_playwright

from tests.support.processes import gateway

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "the playground tests drive Debian's chromium at /usr/bin/chromium, which is not installed "
        "(apt-get install chromium; never `playwright install`)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.e2e

KEY = "sk-play-e2e-123456"
WAIT = 30.0
"""Seconds any one thing may take: the demo model draws a picture in well under a second."""
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """``probe()``'s first truthy value, polled (the page's CSP forbids the eval behind ``wait_for_function``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with gateway({"AUTHORIZED_API_KEY": KEY}, cwd=tmp_path_factory.mktemp("playground")) as url:
        yield url


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Tab:
    """A fresh browser context (empty localStorage) and what went wrong in it: script errors, CSP refusals."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def watch(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(message.text)


@pytest.fixture
def tab(browser: Browser, base: str) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    page.set_default_timeout(WAIT * 1000)
    watched = Tab(page)
    page.on("console", watched.watch)
    page.on("pageerror", lambda error: watched.problems.append(f"uncaught: {error}"))
    try:
        yield watched
    finally:
        context.close()


def connect(page: Page, base: str, key: str = KEY) -> None:
    """Open the playground, type the key and press Enter (which loads the models)."""
    page.goto(base)
    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("api-key").press("Enter")


def gallery_image_size(page: Page, index: int = 0) -> tuple[int, int]:
    image = page.get_by_test_id("gallery-item").nth(index).locator("img")
    size: list[int] = wait_for(
        lambda: image.evaluate(
            "img => img.complete && img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null"
        ),
        "the gallery picture loads",
    )
    return size[0], size[1]


def test_the_page_is_one_self_contained_file(base: str) -> None:
    """Inline CSS and JS only: no CDN, no font, no link out that its CSP would refuse anyway."""
    response = httpx.get(f"{base}/", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    assert "://" not in response.text
    assert httpx.get(f"{base}/playground", timeout=10).content == response.content


def test_a_person_makes_a_picture_and_watches_it_stream_into_the_gallery(tab: Tab, base: str) -> None:
    page = tab.page
    connect(page, base)
    expect(page.get_by_test_id("model").locator("option[value='demo']")).to_have_count(1)
    page.get_by_test_id("model").select_option("demo")
    page.get_by_test_id("idea").fill("a red fox in the snow")
    page.get_by_test_id("ratio").select_option("16:9")
    page.get_by_test_id("count").fill("1")
    page.get_by_test_id("generate").click()

    items = page.get_by_test_id("gallery-item")
    expect(items).to_have_count(1)
    assert gallery_image_size(page) == (1024, 576)
    expect(items.first).to_contain_text("a red fox in the snow")
    expect(page.get_by_test_id("progress")).to_contain_text("Making 1 picture")
    expect(page.get_by_test_id("status")).to_contain_text("Done")
    expect(page.get_by_test_id("error")).to_be_hidden()

    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    colors = shot.getcolors(maxcolors=1 << 24) or []
    assert len(colors) > 64, f"the screenshot looks blank: {len(colors)} colours"
    extrema = cast("tuple[tuple[int, int], ...]", shot.getextrema())  # one (low, high) per band of RGB
    assert any(low != high for low, high in extrema)

    page.reload()  # the gallery and the key live in this browser's storage, not on the server nor in a URL
    expect(page.get_by_test_id("gallery-item")).to_have_count(1)
    expect(page.get_by_test_id("api-key")).to_have_value(KEY)
    assert KEY not in page.url
    assert tab.problems == []


def test_a_gallery_picture_is_copied_as_markdown_and_edited(tab: Tab, base: str) -> None:
    page = tab.page
    connect(page, base)
    expect(page.get_by_test_id("model")).to_have_value("demo")
    page.get_by_test_id("idea").fill("a lighthouse at dusk")
    page.get_by_test_id("ratio").select_option("3:2")
    page.get_by_test_id("idea").press("Control+Enter")  # the keyboard way to generate
    items = page.get_by_test_id("gallery-item")
    expect(items).to_have_count(1)
    assert gallery_image_size(page) == (768, 512)
    link = items.first.locator("img").get_attribute("src")
    assert link and link.startswith(f"{base}/")

    items.first.get_by_test_id("copy-markdown").click()
    expect(items.first.get_by_test_id("copy-markdown")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == f"![a lighthouse at dusk]({link})"

    items.first.get_by_test_id("edit").click()
    prompt = items.first.get_by_test_id("edit-prompt")
    expect(prompt).to_be_focused()
    prompt.fill("make it stormy")
    prompt.press("Enter")
    expect(items).to_have_count(2)
    newest = items.first
    expect(newest).to_contain_text("make it stormy")
    expect(newest).to_contain_text("edited")
    assert gallery_image_size(page) == (768, 512)
    assert newest.locator("img").get_attribute("src") != link
    expect(items.nth(1)).to_contain_text("a lighthouse at dusk")
    assert tab.problems == []


def test_a_wrong_key_reads_as_an_error_and_no_key_asks_for_one(tab: Tab, base: str) -> None:
    page = tab.page
    page.goto(base)
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("401: missing API key")
    expect(error).to_contain_text("needs an API key")
    expect(page.get_by_test_id("api-key")).to_be_focused()

    page.get_by_test_id("api-key").fill("sk-wrong-000000000")
    page.get_by_test_id("api-key").press("Enter")
    expect(error).to_contain_text("401: incorrect API key provided")
    expect(page.get_by_test_id("api-key")).to_have_attribute("aria-invalid", "true")

    page.get_by_role("button", name="Dismiss the error").click()
    expect(error).to_be_hidden()
    page.get_by_test_id("idea").fill("a red fox in the snow")
    page.get_by_test_id("generate").click()
    expect(error).to_contain_text("401: incorrect API key provided")  # no model could be listed with that key
    expect(page.get_by_test_id("api-key")).to_be_focused()
    expect(page.get_by_test_id("gallery-item")).to_have_count(0)
    assert tab.problems == []


def test_errors_in_the_stream_and_a_busy_gateway_read_as_errors(tab: Tab, base: str) -> None:
    """The gateway's answers to a failed generation, replayed to the page (the demo model never fails)."""
    progress = {"choices": [{"delta": {"reasoning_content": "Making 1 picture with demo at 1024x1024.\n"}}]}
    failure = {"error": {"message": "the vendor refused the prompt", "type": "api_error", "code": "vendor_error"}}
    stream = f": keep-alive\r\n\r\ndata: {json.dumps(progress)}\r\n\r\ndata: {json.dumps(failure)}\n\ndata: [DONE]\n\n"
    busy = {"error": {"message": "all vendors for 'demo' are busy", "type": "api_error", "code": "busy"}}
    answers = [(200, "text/event-stream", stream), (503, "application/json", json.dumps(busy))]

    def answer(route: Route) -> None:
        status, content_type, body = answers.pop(0)
        route.fulfill(status=status, content_type=content_type, body=body)

    page = tab.page
    page.route(f"{base}/v1/chat/completions", answer)
    connect(page, base)
    expect(page.get_by_test_id("model")).to_have_value("demo")
    page.get_by_test_id("idea").fill("a red fox in the snow")
    page.get_by_test_id("generate").click()
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("the vendor refused the prompt")
    expect(page.get_by_test_id("progress")).to_contain_text("Making 1 picture")
    expect(page.get_by_test_id("status")).to_have_text("Failed.")
    expect(page.get_by_test_id("generate")).to_be_enabled()

    page.get_by_test_id("generate").click()
    expect(error).to_contain_text("503: all vendors for 'demo' are busy")
    expect(page.get_by_test_id("gallery-item")).to_have_count(0)
    assert answers == []
    assert tab.problems == []


@dataclass
class OtherOrigin:
    """A static page server on another loopback port: another origin than the gateway's."""

    url: str
    pages: dict[str, bytes]


@pytest.fixture
def other_origin() -> Iterator[OtherOrigin]:
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield OtherOrigin(f"http://127.0.0.1:{server.server_address[1]}", pages)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


CROSS_ORIGIN_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>another site</title>
<script>
window.result = (async () => {
  const base = %(base)s, headers = { Authorization: `Bearer ${%(key)s}` };
  const out = {};
  try {
    const models = await fetch(`${base}/v1/models`, { headers });
    out.models = models.status;
    out.ids = (await models.json()).data.map((model) => model.id);
    const chat = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "a paper boat 1:1" }] }),
    });
    out.chat = chat.status;
    const answer = await chat.json();
    out.link = (/!\\[[^\\]]*\\]\\(([^\\s)]+)/.exec(answer.choices[0].message.content) || [])[1] || null;
  } catch (error) {
    out.error = String(error);
  }
  return out;
})();
</script>
"""


def test_a_page_from_another_origin_calls_the_api_with_a_bearer_key(
    tab: Tab, base: str, other_origin: OtherOrigin
) -> None:
    assert other_origin.url != base
    other_origin.pages["/"] = (CROSS_ORIGIN_PAGE % {"base": json.dumps(base), "key": json.dumps(KEY)}).encode()
    page = tab.page
    page.goto(f"{other_origin.url}/")
    result: dict[str, Any] = page.evaluate("window.result")
    assert "error" not in result, f"fetch from {other_origin.url} failed (CORS headers missing?): {result}"
    assert result["models"] == 200
    assert "demo" in result["ids"]
    assert result["chat"] == 200
    assert isinstance(result["link"], str)
    assert result["link"].startswith(f"{base}/")
