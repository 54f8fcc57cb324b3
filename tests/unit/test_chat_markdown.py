"""The picture marker in chat answers: written once, read back from the history a client sends."""

from __future__ import annotations

from gateway.chat_markdown import ShownPicture, picture_markdown, pictures_in

LINK = "https://gw.example/imagegen/image-proxy/0123456789abcdef0123456789abcdef.png"


def test_a_marked_picture_reads_back_its_prompt_size_and_seed() -> None:
    text = picture_markdown(LINK, "a fox [in] the snow\nat dusk, ink \\ wash", 1024, 576, 42)
    assert text == f'![a fox \\[in\\] the snow at dusk, ink \\\\ wash]({LINK} "1024x576, seed 42")'
    assert pictures_in(f"Here it is:\n\n{text}\n\nthe prompt") == [
        ShownPicture(LINK, "a fox [in] the snow at dusk, ink \\ wash", 1024, 576, 42)
    ]


def test_several_pictures_are_read_in_order() -> None:
    text = "\n\n".join(picture_markdown(f"{LINK}?{i}", "owls", 512, 512, i) for i in range(3))
    assert [picture.seed for picture in pictures_in(text)] == [0, 1, 2]


def test_an_older_answer_gives_its_link_and_the_prompt_paragraph_without_size() -> None:
    text = f"![image]({LINK})\n\na red fox in the snow"
    assert pictures_in(text) == [ShownPicture(LINK, "a red fox in the snow")]


def test_text_without_a_picture_shows_none() -> None:
    assert pictures_in("Sorry, I can only draw pictures.") == []
    assert pictures_in("![logo](https://example.com/logo.png)") == []
