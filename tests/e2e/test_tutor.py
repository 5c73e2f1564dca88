"""The AI tutor in the browser: a reply streams in, its voice plays sentence by sentence, and
the learner can stop a reply mid-way. The tutor's model and voice are the loopback stand-ins."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.async_api import Page, expect

from tests.clients import Api, SocketClient
from tests.e2e.browser import accessibility_violations, screenshot, sign_in
from tests.e2e.conftest import NewPage
from tests.servers import Replica
from tests.stubs.elevenlabs import ElevenLabsStub
from tests.stubs.openai_chat import DEFAULT_REPLY, OpenAIChatStub

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def open_room(page: Page, tutor: str) -> None:
    await page.goto("/")
    await sign_in(page, "Lena")
    await page.get_by_role("button", name=f"Start a session with {tutor}").click()
    await expect(page.get_by_role("heading", name=f"Session with {tutor}")).to_be_visible()
    await expect(page.get_by_label("Message")).to_be_enabled()


async def ask(page: Page, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_a_streamed_reply_with_voice_and_a_stopped_one(
    app_cluster: tuple[Replica, Replica], new_page: NewPage, chat: OpenAIChatStub
) -> None:
    a, _ = app_cluster
    # At a phone's width: one column, nothing wider than the screen.
    page = await new_page(a.url, width=390, height=844)
    await open_room(page, "Ada")
    assert await page.evaluate(
        "document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
    )
    messages = page.get_by_test_id("messages")

    # Streamed: the draft shows part of the reply before the stored message replaces it.
    chat.profile.tokens_per_second = 25
    await ask(page, "How do I solve 2x + 3 = 7?")
    draft = messages.locator("[data-kind=ai-draft]")
    await expect(draft).to_contain_text("Great question!")
    final = messages.locator("[data-kind=ai]")
    await expect(final).to_have_text(f"Ada{DEFAULT_REPLY}")
    await expect(draft).to_have_count(0)
    # The voice: one clip per sentence, played to the end, in order (order: unit tests).
    sentences = 5
    await page.wait_for_function(
        "(n) => Number(document.querySelector('[data-testid=voice]').dataset.played) >= n",
        arg=sentences,
        polling=100,
        timeout=30_000,
    )

    # Stopped mid-way: what stays is the part that was shown, marked as stopped.
    chat.profile.tokens_per_second = 6
    await ask(page, "Explain fractions to me.")
    await expect(draft).to_contain_text("Great")
    await page.get_by_role("button", name="Stop Ada").click()
    # At once: the streaming text freezes, marked as stopped (still the draft, or already the
    # stored message if the tutor was quick)...
    second = messages.locator("[data-kind=ai], [data-kind=ai-draft]").nth(1)
    await expect(second).to_contain_text("(stopped)")
    # ...and once the tutor has wound down, the part it sent is stored (a loaded replica can
    # take a few seconds to cancel the stream and its speech).
    stopped = final.nth(1)
    await expect(stopped).to_contain_text("(stopped)", timeout=20_000)
    text = await stopped.locator(".text").inner_text()
    assert 0 < len(text) < len(DEFAULT_REPLY)
    assert DEFAULT_REPLY.startswith(text)
    await expect(page.get_by_role("button", name="Stop Ada")).to_have_count(0)
    await expect(page.get_by_test_id("voice")).to_have_attribute("data-speaking", "no")
    await screenshot(page, "call-phone")
    assert await accessibility_violations(page) == []


async def test_provider_trouble_shows_notices_and_the_room_goes_on(
    app_cluster: tuple[Replica, Replica],
    new_page: NewPage,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
) -> None:
    _, b = app_cluster
    page = await new_page(b.url)
    await open_room(page, "Kenji")
    notices = page.get_by_test_id("notices")
    final = page.get_by_test_id("messages").locator("[data-kind=ai]")

    # Voice down: the answer comes as text, with a notice saying why there is no voice.
    voice.fail_next(500, times=100)
    await ask(page, "Why is my loop infinite?")
    await expect(final).to_have_text(f"Kenji{DEFAULT_REPLY}")
    await expect(notices.locator("[data-code=voice_unavailable]")).to_contain_text(
        "Voice is unavailable"
    )

    # The model down (every retry fails): a readable error, and the next question is answered.
    voice.reset()
    chat.fail_next(503, times=3)
    await ask(page, "Are you there?")
    await expect(notices.get_by_role("alert")).to_contain_text("unavailable right now")
    await ask(page, "And now?")
    await expect(final).to_have_count(2)
    await expect(final.nth(1)).to_have_text(f"Kenji{DEFAULT_REPLY}")


async def test_the_other_participant_hears_the_tutor_too(
    app_cluster: tuple[Replica, Replica],
    new_page: NewPage,
    chat: OpenAIChatStub,
    voice: ElevenLabsStub,
    sockets: Callable[..., SocketClient],
) -> None:
    """The learner asks (here a plain Socket.IO client on replica A); the person who followed
    the invite link, on replica B, sees the reply and hears its voice."""
    a, b = app_cluster
    learner_api = await Api.guest(a.url, "Ann")
    room = await learner_api.create_room("ada-math")
    learner = await sockets(a.url, learner_api.token).connect()
    assert (await learner.call("join", {"room_id": room["room_id"]}))["ok"]

    page = await new_page(b.url)
    await page.goto(f"/rooms/{room['room_id']}?invite={room['invite_token']}")
    await sign_in(page, "Bea")
    await expect(page.get_by_test_id("participants")).to_contain_text("Ann")
    await learner.call(
        "message", {"room_id": room["room_id"], "text": "What is pi?", "client_id": "q1"}
    )
    messages = page.get_by_test_id("messages")
    await expect(messages.get_by_text("What is pi?", exact=True)).to_have_count(1)
    await expect(messages.locator("[data-kind=ai]")).to_have_text(f"Ada{DEFAULT_REPLY}")
    await page.wait_for_function(
        # A function, not an expression: an expression is eval'd in the page, which the app's
        # Content-Security-Policy (rightly) forbids.
        "() => Number(document.querySelector('[data-testid=voice]').dataset.played) >= 1",
        polling=100,
        timeout=20_000,
    )
