"""Whole conversations as Open WebUI, LobeChat and NextChat send them: each turn's vendor prompt, size and seed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.chat_uis import (
    LIBRECHAT_TITLE,
    OPEN_WEBUI_FOLLOW_UPS,
    OPEN_WEBUI_IMAGE_CREATED,
    OPEN_WEBUI_IMAGE_DISABLED,
    OPEN_WEBUI_IMAGE_FAILED,
    OPEN_WEBUI_QUERIES,
    OPEN_WEBUI_TAGS,
    OPEN_WEBUI_TITLE,
    OPEN_WEBUI_TITLE_EMOJI,
    UI_BODIES,
    Message,
    cherry_studio_title,
    librechat_title,
    lobechat_file_turn,
    lobechat_knowledge_turn,
    lobechat_title,
    nextchat_topic,
    open_webui_after_image_tool,
    open_webui_file_turn,
    open_webui_merge,
    open_webui_task,
    replayed_answer,
)
from tests.support.images import png
from tests.support.markdown import image_alts, image_links, image_titles

VENDOR_URL = "https://cf.example/ai/run/@cf/stabilityai/sdxl"
ENV = vendor_env(1, "cloudflare", "https://cf.example/ai/run", "pic=@cf/stabilityai/sdxl", "cf-key-000000000001")
UIS = ("open-webui", "lobechat", "nextchat")
pytestmark = pytest.mark.httpx_mock(assert_all_responses_were_requested=False)  # the vendor's calls are asserted


@dataclass
class Vendor:
    """A Workers AI SDXL vendor that draws what it is asked and remembers each request."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append(body)
        return httpx.Response(200, content=png(body["width"], body["height"]), headers={"content-type": "image/png"})

    @property
    def last(self) -> dict[str, Any]:
        return self.calls[-1]


@pytest.fixture
def vendor(httpx_mock: HTTPXMock) -> Vendor:
    recorder = Vendor()
    httpx_mock.add_callback(recorder, url=VENDOR_URL, is_reusable=True)
    return recorder


@dataclass
class UiChat:
    """One conversation held the way a chat UI holds it: each turn sent its way, each answer kept as it replays it."""

    client: AsyncTestClient  # type: ignore[type-arg]
    ui: str
    messages: list[Message] = field(default_factory=list)
    reasoning: str = ""

    async def say(self, text: str) -> str:
        self.messages.append({"role": "user", "content": text})
        return await self._answer()

    async def regenerate(self) -> str:
        """The same list as before, up to the same user message: a new answer replaces the old one."""
        assert self.messages.pop()["role"] == "assistant"
        return await self._answer()

    async def _answer(self) -> str:
        sent = self.messages[-4:] if self.ui == "nextchat" else self.messages  # NextChat's historyMessageCount
        content, self.reasoning = await stream(self.client, sent, **UI_BODIES[self.ui])
        self.messages.append({"role": "assistant", "content": replayed_answer(self.ui, content, self.reasoning)})
        return content


async def stream(client: AsyncTestClient, messages: list[Message], **body: Any) -> tuple[str, str]:  # type: ignore[type-arg]
    """A streamed chat turn: the content and the thinking the client would show."""
    response = await client.post("/v1/chat/completions", json={"model": "pic", "messages": messages, **body})
    assert response.status_code == 200, response.text
    content, reasoning = [], []
    for line in response.text.splitlines():
        if line.startswith("data: {"):
            event = json.loads(line[6:])
            assert "error" not in event, event
            for choice in event["choices"]:
                content.append(choice["delta"].get("content") or "")
                reasoning.append(choice["delta"].get("reasoning_content") or "")
    return "".join(content), "".join(reasoning)


async def ask(client: AsyncTestClient, messages: list[Message], **body: Any) -> str:  # type: ignore[type-arg]
    """A side request the way the UIs send them (not streamed): the answer's text."""
    response = await client.post("/v1/chat/completions", json={"model": "pic", "messages": messages, **body})
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


@pytest.mark.parametrize("ui", UIS)
async def test_a_clicked_suggestion_and_a_typed_refinement_keep_the_subject_size_and_seed(
    vendor: Vendor, ui: str
) -> None:
    async with app_client(make_settings(ENV)) as client:
        chat = UiChat(client, ui)
        first = await chat.say("a red fox in the snow 16:9")
        assert (vendor.last["prompt"], vendor.last["width"], vendor.last["height"]) == (
            "a red fox in the snow",
            1024,
            576,
        )
        seed = vendor.last["seed"]
        assert image_titles(first) == [f"1024x576, seed {seed}"]

        await chat.say("Make it a watercolor painting")  # the gateway's own first follow-up suggestion
        assert vendor.last["prompt"] == "a red fox in the snow, a watercolor painting"
        assert (vendor.last["width"], vendor.last["height"], vendor.last["seed"]) == (1024, 576, seed)
        assert "Changing the previous picture" in chat.reasoning

        third = await chat.say("now make it at night")
        assert vendor.last["prompt"] == "a red fox in the snow, a watercolor painting, at night"
        assert (vendor.last["width"], vendor.last["height"], vendor.last["seed"]) == (1024, 576, seed)
        assert image_alts(third) == ["a red fox in the snow, a watercolor painting, at night"]
    assert len(vendor.calls) == 3


@pytest.mark.parametrize("ui", UIS)
async def test_a_new_subject_starts_fresh_at_the_default_size(vendor: Vendor, ui: str) -> None:
    async with app_client(make_settings(ENV)) as client:
        chat = UiChat(client, ui)
        await chat.say("a red fox in the snow 16:9")
        fox_seed = vendor.last["seed"]
        await chat.say("A lighthouse on a rocky cliff above stormy seas")
    assert vendor.last["prompt"] == "A lighthouse on a rocky cliff above stormy seas"
    assert (vendor.last["width"], vendor.last["height"]) == (1024, 1024)
    assert vendor.last["seed"] != fox_seed


@pytest.mark.parametrize("ui", UIS)
async def test_regenerate_and_again_make_a_new_picture_of_the_same_prompt(vendor: Vendor, ui: str) -> None:
    async with app_client(make_settings(ENV)) as client:
        chat = UiChat(client, ui)
        await chat.say("a paper boat on a pond 3:2")
        first = dict(vendor.last)
        await chat.regenerate()
        regenerated = dict(vendor.last)
        await chat.say("another one")
    again = vendor.last
    assert first["prompt"] == regenerated["prompt"] == again["prompt"] == "a paper boat on a pond"
    assert (first["width"], first["height"]) == (regenerated["width"], regenerated["height"]) == (768, 512)
    assert (again["width"], again["height"]) == (768, 512)  # the size carries over to "another one"
    assert len({first["seed"], regenerated["seed"], again["seed"]}) == 3


async def test_wider_reshapes_the_previous_picture_and_a_ratio_in_the_message_wins(vendor: Vendor) -> None:
    async with app_client(make_settings(ENV)) as client:
        chat = UiChat(client, "open-webui")
        await chat.say("an owl on a branch")
        await chat.say("same but wider")
        assert (vendor.last["prompt"], vendor.last["width"], vendor.last["height"]) == ("an owl on a branch", 1152, 896)
        await chat.say("make it 9:16 and at dusk")
    assert vendor.last["prompt"] == "an owl on a branch, at dusk"
    assert (vendor.last["width"], vendor.last["height"]) == (576, 1024)


async def test_without_removes_the_thing_from_the_previous_prompt(vendor: Vendor) -> None:
    async with app_client(make_settings(ENV)) as client:
        chat = UiChat(client, "lobechat")
        await chat.say("a quiet lake at sunset with a small wooden boat")
        await chat.say("without the boat")
    assert vendor.last["prompt"] == "a quiet lake at sunset"


async def test_open_webui_file_attachment_draws_the_users_words(vendor: Vendor) -> None:
    async with app_client(make_settings(ENV)) as client:
        wrapped = open_webui_file_turn("a lighthouse on a cliff", "notes.txt", "Keeper's log: storms all week.")
        # Before the turn: the retrieval query request quoting the message with its file list.
        queries = open_webui_task(OPEN_WEBUI_QUERIES, [{"role": "user", "content": wrapped.split("</context>\n\n")[1]}])
        assert json.loads(await ask(client, queries, stream=False)) == {"queries": []}
        assert vendor.calls == []
        content = await UiChat(client, "open-webui").say(wrapped)
    assert vendor.last["prompt"] == "a lighthouse on a cliff"
    assert len(vendor.calls) == 1 and image_links(content)


async def test_open_webui_titles_follow_each_template_and_suggestions_are_refinements(vendor: Vendor) -> None:
    async with app_client(make_settings(ENV)) as client:
        chat = UiChat(client, "open-webui")
        # 0.12 asks for the title while the picture is still being made: the answer is empty in its history.
        early = [{"role": "user", "content": "Please draw a very detailed red fox in the snow"}]
        title = json.loads(
            await ask(client, open_webui_task(OPEN_WEBUI_TITLE, [*early, {"role": "assistant", "content": ""}]))
        )
        assert title == {"title": "Red fox"}  # "2-4 words", "Do not use emojis"
        await chat.say("Please draw a very detailed red fox in the snow 16:9")
        older = json.loads(await ask(client, open_webui_task(OPEN_WEBUI_TITLE_EMOJI, chat.messages)))
        assert older == {"title": "🎨 Red fox in the snow"}  # the older template asks for an emoji
        tags = json.loads(await ask(client, open_webui_task(OPEN_WEBUI_TAGS, chat.messages)))["tags"]
        assert tags[:1] == ["Art"] and "Red fox" in tags and "Snow" in tags
        follow_ups = json.loads(await ask(client, open_webui_task(OPEN_WEBUI_FOLLOW_UPS, chat.messages)))["follow_ups"]
        assert follow_ups == [
            "Make it a watercolor painting",
            "Show the same scene at night",
            "Make it a tall portrait version",
        ]
        assert len(vendor.calls) == 1  # none of the side requests made a picture

        for suggestion, expected in [
            (follow_ups[1], ("Please draw a very detailed red fox in the snow, at night", 1024, 576)),
            (follow_ups[2], ("Please draw a very detailed red fox in the snow, at night", 768, 1024)),
        ]:
            await chat.say(suggestion)
            assert (vendor.last["prompt"], vendor.last["width"], vendor.last["height"]) == expected
        again = json.loads(await ask(client, open_webui_task(OPEN_WEBUI_FOLLOW_UPS, chat.messages)))["follow_ups"]
        assert "Show the same scene at night" not in again  # the picture is at night now


async def test_open_webui_merge_responses_shows_both_pictures_without_making_one(vendor: Vendor) -> None:
    async with app_client(make_settings(ENV)) as client:
        one = await UiChat(client, "open-webui").say("a red fox in the snow")
        two = await UiChat(client, "open-webui").say("a red fox in the snow 16:9")
        merged = await stream(client, open_webui_merge("a red fox in the snow", [one, two]), stream=True)
    assert len(vendor.calls) == 2
    assert image_links(merged[0]) == image_links(one) + image_links(two)


@pytest.mark.parametrize(
    ("note", "answer"),
    [
        (OPEN_WEBUI_IMAGE_CREATED, "Here is your picture."),
        (
            OPEN_WEBUI_IMAGE_FAILED.replace("{error_message}", "503: vendor down"),
            "The picture could not be made: 503: vendor down",
        ),
        (OPEN_WEBUI_IMAGE_DISABLED, "Image generation is turned off by the administrator, so no picture was made."),
    ],
    ids=["created", "failed", "disabled"],
)
async def test_open_webui_image_tool_note_is_answered_with_text_and_no_second_picture(
    vendor: Vendor, note: str, answer: str
) -> None:
    async with app_client(make_settings(ENV)) as client:
        content, _ = await stream(client, open_webui_after_image_tool(note, "a red fox in the snow"), stream=True)
    assert content == answer
    assert vendor.calls == []


async def test_other_uis_titles_keep_the_subject(vendor: Vendor) -> None:
    async with app_client(make_settings(ENV)) as client:
        chat = UiChat(client, "nextchat")
        await chat.say("generate an image of a lighthouse on a rocky cliff at dawn")
        answer = chat.messages[-1]["content"]
        assert await ask(client, nextchat_topic(chat.messages)) == "Lighthouse on a rocky cliff"
        assert await ask(client, lobechat_title(chat.messages)) == "Lighthouse on a rocky cliff"
        librechat = librechat_title(chat.messages[0]["content"], answer)
        assert librechat[0]["content"].startswith(LIBRECHAT_TITLE.split("{convo}")[0])
        assert await ask(client, librechat) == "Lighthouse on a Rocky Cliff"  # "using title case conventions"
        assert await ask(client, cherry_studio_title(chat.messages)) == "Lighthouse on a rocky cliff"
    assert len(vendor.calls) == 1


async def test_the_demo_draws_a_new_picture_each_time_unless_the_client_gives_a_seed() -> None:
    async with app_client(make_settings()) as client:
        links = []
        for extra in ({}, {}, {"seed": 42}, {"seed": 42}):
            body = {"model": "demo", "messages": [{"role": "user", "content": "a kite"}], **extra}
            content = (await client.post("/v1/chat/completions", json=body)).json()["choices"][0]["message"]["content"]
            links += image_links(content)
    assert links[0] != links[1]  # regenerate: a per-request seed
    assert links[2] == links[3]  # the client's seed keeps the picture reproducible
    assert image_titles(content) == ["1024x1024, seed 42"]


@pytest.mark.parametrize(
    "wrapped",
    [
        pytest.param(lobechat_file_turn("a lighthouse on a cliff", "notes.txt", "Storms all week."), id="file"),
        pytest.param(lobechat_knowledge_turn("a lighthouse on a cliff", "The lamp is lit at dusk."), id="knowledge"),
    ],
)
async def test_lobechat_context_after_the_words_is_not_drawn(vendor: Vendor, wrapped: str) -> None:
    async with app_client(make_settings(ENV)) as client:
        await UiChat(client, "lobechat").say(wrapped)
    assert [call["prompt"] for call in vendor.calls] == ["a lighthouse on a cliff"]
