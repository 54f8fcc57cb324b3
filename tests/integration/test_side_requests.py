"""Chat UIs' housekeeping prompts, exactly as Open WebUI, NextChat and LobeChat send them, cost no image."""

from __future__ import annotations

import json
from typing import Any

from pytest_httpx import HTTPXMock

from tests.support.app import app_client, make_settings, vendor_env
from tests.support.markdown import image_links

VENDOR = vendor_env(1, "openai", "https://img.example/v1", "flux", "sk-img-000000000001")
LLM = {"OPENAI_API_BASE": "https://llm.example/v1", "OPENAI_API_KEY": "sk-llm-000000000001", "OPENAI_MODEL": "mini"}
LLM_URL = "https://llm.example/v1/chat/completions"
ANSWER = "![image](http://testserver.local/image-proxy/0123456789abcdef0123456789abcdef.png)\n\na red fox in the snow"
IDEA = "a red fox in the snow 16:9"

# Open WebUI (backend/open_webui/config.py) templates, rendered the way it renders {{MESSAGES:END:n}}.
HISTORY = f"<chat_history>\nUSER: {IDEA}\nASSISTANT: {ANSWER}\n</chat_history>"
OPEN_WEBUI_TITLE = (
    "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n### Guidelines:\n"
    "- The title should clearly represent the main theme or subject of the conversation.\n"
    "- Use emojis that enhance understanding of the topic, but avoid quotation marks or special formatting.\n"
    "- Write the title in the chat's primary language; default to English if multilingual.\n"
    "- Prioritize accuracy over excessive creativity; keep it clear and simple.\n### Output:\n"
    'JSON format: { "title": "your concise title here" }\n### Examples:\n'
    '- { "title": "📉 Stock Market Trends" },\n- { "title": "🍪 Perfect Chocolate Chip Recipe" },\n'
    '- { "title": "Evolution of Music Streaming" },\n- { "title": "Remote Work Productivity Tips" },\n'
    '- { "title": "Artificial Intelligence in Healthcare" },\n- { "title": "🎮 Video Game Development Insights" }\n'
    f"### Chat History:\n{HISTORY}"
)
OPEN_WEBUI_TAGS = (
    "### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, along with 1-3 more "
    "specific subtopic tags.\n\n### Guidelines:\n- Start with high-level domains (e.g. Science, Technology, "
    "Philosophy, Arts, Politics, Business, Health, Sports, Entertainment, Education)\n- Consider including "
    "relevant subfields/subdomains if they are strongly represented throughout the conversation\n- If content is "
    'too short (less than 3 messages) or too diverse, use only ["General"]\n- Use the chat\'s primary language; '
    "default to English if multilingual\n- Prioritize accuracy over specificity\n\n### Output:\nJSON format: "
    '{ "tags": ["tag1", "tag2", "tag3"] }\n\n'
    f"### Chat History:\n{HISTORY}"
)
OPEN_WEBUI_FOLLOW_UPS = (
    "### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next in this "
    "conversation as a **user**, based on the chat history, to help continue or deepen the discussion.\n"
    "### Guidelines:\n- Write all follow-up questions from the user's point of view, directed to the assistant.\n"
    "- Make questions concise, clear, and directly related to the discussed topic(s).\n"
    "- Only suggest follow-ups that make sense given the chat history and the assistant's last response.\n"
    "- Match the conversational tone and style of the existing chat.\n"
    "- Use the chat's primary language; default to English if multilingual.\n"
    "- Avoid repeating questions already asked or answered in the chat history.\n"
    "- If the conversation is concluded or no relevant follow-ups exist, return an empty list.\n### Output:\n"
    'JSON format: { "follow_ups": ["Question 1?", "Question 2?", "Question 3?"] }\n'
    f"### Chat History:\n{HISTORY}"
)
# NextChat (app/locales/en.ts and cn.ts, Store.Prompt), appended to the conversation by app/store/chat.ts.
NEXTCHAT_TOPIC_EN = (
    "Please generate a four to five word title summarizing our conversation without any lead-in, punctuation, "
    "quotation marks, periods, symbols, bold text, or additional text. Remove enclosing quotation marks."
)
NEXTCHAT_TOPIC_CN = (
    "使用四到五个字直接返回这句话的简要主题，不要解释、不要标点、不要语气词、不要多余文本，不要加粗，"
    "如果没有主题，请直接返回“闲聊”"
)
NEXTCHAT_SUMMARIZE_CN = "简要总结一下对话内容，用作后续的上下文提示 prompt，控制在 200 字以内"
NEXTCHAT_SUMMARIZE_EN = "Summarize the discussion briefly in 200 words or less to use as a prompt for future context."
# LobeChat chains/summaryTitle.ts (1.x, and the older Chinese one).
LOBECHAT_TITLE_SYSTEM = (
    "You are a professional conversation summarizer. Generate a concise title that captures the essence of the "
    "conversation.\n\nRules:\n- Output ONLY the title text, no explanations or additional context\n"
    "- Maximum 10 words\n- Maximum 50 characters\n- No punctuation marks\n"
    "- Use the language specified by the locale code: en-US\n"
    "- The title should accurately reflect the main topic of the conversation\n- Keep it short and to the point"
)
LOBECHAT_TITLE_SYSTEM_CN = "你是一名擅长会话的助理，你需要将用户的会话总结为 10 个字以内的标题"


def conversation(*extra: dict[str, str]) -> list[dict[str, str]]:
    return [{"role": "user", "content": IDEA}, {"role": "assistant", "content": ANSWER}, *extra]


def content_of(reply: Any) -> str:
    assert reply.status_code == 200, reply.text
    return str(reply.json()["choices"][0]["message"]["content"])


async def send(messages: list[dict[str, str]], env: dict[str, str] | None = None, **extra: Any) -> Any:
    async with app_client(make_settings({**VENDOR, **(env or {})})) as client:
        return await client.post("/v1/chat/completions", json={"model": "flux", "messages": messages, **extra})


async def test_open_webui_title_is_json_with_a_title(httpx_mock: HTTPXMock) -> None:
    reply = await send([{"role": "user", "content": OPEN_WEBUI_TITLE}])
    assert json.loads(content_of(reply)) == {"title": "🎨 Red fox in the snow"}
    assert httpx_mock.get_requests() == []  # no image vendor call


async def test_open_webui_tags_are_a_json_list(httpx_mock: HTTPXMock) -> None:
    tags = json.loads(content_of(await send([{"role": "user", "content": OPEN_WEBUI_TAGS}])))["tags"]
    assert tags and all(isinstance(tag, str) and tag for tag in tags)
    assert httpx_mock.get_requests() == []


async def test_open_webui_follow_ups_are_a_json_list_of_questions(httpx_mock: HTTPXMock) -> None:
    follow_ups = json.loads(content_of(await send([{"role": "user", "content": OPEN_WEBUI_FOLLOW_UPS}])))
    assert 3 <= len(follow_ups["follow_ups"]) <= 5
    assert httpx_mock.get_requests() == []


async def test_nextchat_topic_is_a_short_plain_title(httpx_mock: HTTPXMock) -> None:
    title = content_of(await send(conversation({"role": "user", "content": NEXTCHAT_TOPIC_EN})))
    assert title == "Red fox in the snow"
    assert httpx_mock.get_requests() == []


async def test_nextchat_chinese_topic(httpx_mock: HTTPXMock) -> None:
    messages = [
        {"role": "user", "content": "雪地里奔跑的一只红色狐狸和它的影子"},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": NEXTCHAT_TOPIC_CN},
    ]
    title = content_of(await send(messages))
    assert title == "雪地里奔跑的一只红色"  # the first ten characters
    assert httpx_mock.get_requests() == []


async def test_nextchat_streamed_summary_comes_as_sse_text(httpx_mock: HTTPXMock) -> None:
    reply = await send(conversation({"role": "system", "content": NEXTCHAT_SUMMARIZE_CN}), stream=True)
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert "a red fox in the snow" in text
    assert httpx_mock.get_requests() == []


async def test_nextchat_english_summary(httpx_mock: HTTPXMock) -> None:
    summary = content_of(await send(conversation({"role": "system", "content": NEXTCHAT_SUMMARIZE_EN})))
    assert "a red fox in the snow" in summary
    assert httpx_mock.get_requests() == []


async def test_lobechat_title(httpx_mock: HTTPXMock) -> None:
    history = f"user: {IDEA}\nassistant: {ANSWER}"
    messages = [{"role": "system", "content": LOBECHAT_TITLE_SYSTEM}, {"role": "user", "content": history}]
    assert content_of(await send(messages)) == "Red fox in the snow"
    assert httpx_mock.get_requests() == []


async def test_lobechat_older_chinese_title(httpx_mock: HTTPXMock) -> None:
    history = (
        f"user: 一只猫坐在屋顶上\nassistant: {ANSWER}\n\n"
        "请总结上述对话为10个字以内的标题，不需要包含标点符号，输出语言语种为：zh-CN"
    )
    messages = [{"role": "system", "content": LOBECHAT_TITLE_SYSTEM_CN}, {"role": "user", "content": history}]
    assert content_of(await send(messages)) == "一只猫坐在屋顶上"
    assert httpx_mock.get_requests() == []


async def test_with_an_llm_configured_it_answers_in_the_asked_shape(httpx_mock: HTTPXMock) -> None:
    llm_answer = '```json\n{"title": "🦊 Fox in Snow"}\n```'
    httpx_mock.add_response(url=LLM_URL, json={"choices": [{"message": {"role": "assistant", "content": llm_answer}}]})
    reply = await send([{"role": "user", "content": OPEN_WEBUI_TITLE}], env=LLM)
    assert json.loads(content_of(reply)) == {"title": "🦊 Fox in Snow"}
    [call] = httpx_mock.get_requests()  # the LLM, not the image vendor
    assert str(call.url) == LLM_URL
    assert json.loads(call.content)["messages"] == [{"role": "user", "content": OPEN_WEBUI_TITLE}]


async def test_an_llm_answer_in_the_wrong_shape_is_replaced_by_a_local_one(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=LLM_URL, json={"choices": [{"message": {"role": "assistant", "content": "Sure! Here is a title."}}]}
    )
    reply = await send([{"role": "user", "content": OPEN_WEBUI_TITLE}], env=LLM)
    assert json.loads(content_of(reply)) == {"title": "🎨 Red fox in the snow"}


async def test_a_failing_llm_still_gets_the_ui_an_answer(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LLM_URL, status_code=500, is_reusable=True)
    reply = await send(conversation({"role": "user", "content": NEXTCHAT_TOPIC_EN}), env=LLM)
    assert content_of(reply) == "Red fox in the snow"


async def test_custom_patterns_mark_more_side_requests(httpx_mock: HTTPXMock) -> None:
    env = {"SIDE_REQUEST_PATTERNS": '["^Name this chat in three words"]'}
    reply = await send(conversation({"role": "user", "content": "Name this chat in three words please"}), env=env)
    assert content_of(reply) == "Red fox in the snow"
    assert httpx_mock.get_requests() == []


async def test_detection_can_be_turned_off(httpx_mock: HTTPXMock) -> None:
    from tests.support.images import b64, png

    httpx_mock.add_response(url="https://img.example/v1/images/generations", json={"data": [{"b64_json": b64(png())}]})
    reply = await send(
        conversation({"role": "user", "content": NEXTCHAT_TOPIC_EN}), env={"SIDE_REQUEST_DETECTION": "false"}
    )
    assert image_links(content_of(reply))


async def test_an_ordinary_idea_that_mentions_a_title_is_still_drawn(httpx_mock: HTTPXMock) -> None:
    from tests.support.images import b64, png

    httpx_mock.add_response(url="https://img.example/v1/images/generations", json={"data": [{"b64_json": b64(png())}]})
    reply = await send([{"role": "user", "content": "a book cover with the title 'Summer Tasks' in gold"}])
    assert image_links(content_of(reply))


async def test_a_side_request_for_an_unknown_model_is_still_a_404(httpx_mock: HTTPXMock) -> None:
    async with app_client(make_settings(VENDOR)) as client:
        reply = await client.post(
            "/v1/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": OPEN_WEBUI_TITLE}]}
        )
    assert reply.status_code == 404
