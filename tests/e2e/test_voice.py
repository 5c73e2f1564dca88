"""Talking with the tutor in real Chromium: the tutor joins the call as a WebRTC peer of the
replica that holds the page's socket (aiortc), hears the learner through the offline recognizer
(pocketsphinx) and answers aloud (the offline tutor, espeak-ng) on its track.

The microphone is Chromium's fake capture of a WAV that espeak-ng makes here, in the voice
pocketsphinx recognizes. Chromium plays that file from its start on every new capture
(``%noloop``: once, then silence), so the page's microphone is a WebAudio mixer and
``__speak()`` opens a new capture into it: the learner says the question when the test wants.
The tutor's voice is measured in the page (RMS from an AnalyserNode on the received track).

Own replicas (voice on; the shared e2e ones run the tutor in text mode), own Chromium (the
fake audio file is a launch flag), one nginx with sticky sessions for the replica-loss part.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import BASE_ENV
from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INIT_SCRIPT,
    accessibility_violations,
    screenshot,
    sign_in,
)
from tests.e2e.conftest import NewPage, page_factory
from tests.servers import LoadBalancer, RedisServer, Replica

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

QUESTION = "what is the capital of france"
# What pocketsphinx reliably gets of it, through Opus ("france" comes out as "friends", "the"
# sometimes as "a").
KEY_WORDS = "capital"

# Runs after INIT_SCRIPT on every page of this module.
VOICE_SCRIPT = """
(() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  let ctx = null;
  let mixer = null;
  let speech = null;
  const audio = () => {
    if (!ctx) {
      ctx = new AudioContext();
      mixer = ctx.createMediaStreamDestination();
    }
    return ctx;
  };
  // The app's microphone is the mixer's track: silent until the test speaks into it.
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await real(constraints);
    if (!constraints || !constraints.audio) return stream;
    for (const track of stream.getAudioTracks()) {
      track.stop();
      stream.removeTrack(track);
    }
    audio();
    stream.addTrack(mixer.stream.getAudioTracks()[0]);
    return stream;
  };
  // A new capture of the fake audio file: the question, from its start.
  window.__speak = async () => {
    if (speech) speech.getTracks().forEach((t) => t.stop());
    speech = await real({ audio: true });
    audio().createMediaStreamSource(speech).connect(mixer);
  };
  // The tutor's voice as the page receives it: the loudest RMS since the last reset, and when
  // it was last above a whisper.
  window.__tutor = { peak: 0, loudAt: 0 };
  let meter = null;
  setInterval(() => {
    const el = document.querySelector("[data-testid=tutor-audio]");
    const stream = el && el.srcObject;
    if (!stream || !ctx) return;
    if (!meter || meter.stream !== stream) {
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      ctx.createMediaStreamSource(stream).connect(analyser);
      meter = { stream, analyser, buffer: new Float32Array(1024) };
    }
    meter.analyser.getFloatTimeDomainData(meter.buffer);
    let sum = 0;
    for (const s of meter.buffer) sum += s * s;
    const rms = Math.sqrt(sum / meter.buffer.length);
    window.__tutor.peak = Math.max(window.__tutor.peak, rms);
    if (rms > 0.01) window.__tutor.loudAt = performance.now();
  }, 20);
})();
"""

# Speech peaks well above this RMS; the silence of a stopped track is far below.
VOICE_RMS = 0.03


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The question at 48 kHz mono (Chromium's capture rate), with a little silence around it
    so that the recognizer sees a whole utterance."""
    where = tmp_path_factory.mktemp("voice-e2e")
    raw, wav = where / "espeak.wav", where / "question.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us+klatt2", "-s", "150", "-w", str(raw), QUESTION], check=True
    )
    subprocess.run(
        ["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav), "pad", "0.3", "1.0"],
        check=True,
    )
    return wav


@pytest.fixture(scope="module")
async def voice_browser(question_wav: Path) -> AsyncIterator[Browser]:
    args = [
        *CHROMIUM_ARGS,
        f"--use-file-for-fake-audio-capture={question_wav}%noloop",
        # The mixer's AudioContext and the tutor's <audio> start without a click.
        "--autoplay-policy=no-user-gesture-required",
    ]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        await browser.close()


@pytest.fixture
async def voice_page(
    voice_browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[NewPage]:
    async with page_factory(voice_browser, request, (INIT_SCRIPT, VOICE_SCRIPT)) as make:
        yield make


@pytest.fixture(scope="module")
def voice_cluster(
    frontend_dist: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Replica, Replica, LoadBalancer]]:
    """Two replicas with voice on (offline recognizer, offline tutor and voice, clips on a
    shared disk), and nginx with sticky sessions in front of them. Their own Redis: the tutor's
    job queue is shared by every replica of a Redis, and the session's other replicas (the
    stand-in model and voice) would take these rooms' jobs."""
    media = tmp_path_factory.mktemp("voice-e2e-media")
    redis = RedisServer().start()
    env = {
        **BASE_ENV,
        "HOLO_REDIS_URL": redis.url,
        "HOLO_MEDIA_DIR": str(media),
        # Both ends on loopback: host candidates only (aiortc would try a public STUN server).
        "HOLO_STUN_URLS": "",
        "HOLO_VOICE_MAX_SESSIONS": "4",
    }
    a = Replica(name="voice-e2e-a", env=env).start()
    b = Replica(name="voice-e2e-b", env=env).start()
    lb = LoadBalancer([a.port, b.port]).start()
    yield a, b, lb
    lb.stop()
    a.stop()
    b.stop()
    redis.stop()


def metric(replica: Replica, name: str) -> float:
    """A counter or gauge of one replica, summed over its labels (0 if absent)."""
    text = httpx.get(f"{replica.url}/metrics", timeout=5).text
    pattern = re.compile(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", re.M)
    return sum(float(v) for v in pattern.findall(text))


async def wait_for(predicate: Any, page: Page, timeout_ms: int = 30_000) -> None:
    """Poll a Python predicate while the page runs (Playwright's clock, not a sleep)."""
    waited = 0
    while not predicate():
        if waited >= timeout_ms:
            raise AssertionError("condition not met in time")
        await page.wait_for_timeout(100)
        waited += 100


async def tutor_connected(page: Page) -> None:
    """The tutor peer is up: what the learner says from now on reaches the tutor whole."""
    tile = page.get_by_test_id("tutor-tile")
    await expect(tile).to_have_attribute("data-mode", "voice", timeout=30_000)
    await expect(tile).to_have_attribute("data-connection", "connected", timeout=30_000)


async def open_voice_room(page: Page, name: str) -> None:
    await page.goto("/")
    await sign_in(page, name)
    await page.get_by_role("button", name="Start a session with Ada").click()
    await expect(page.get_by_role("heading", name="Session with Ada")).to_be_visible()
    await tutor_connected(page)


async def hears_tutor(page: Page) -> None:
    """The tutor's voice arrives on its track (measured in the page)."""
    await page.evaluate("window.__tutor.peak = 0")
    # Functions, not expressions: an expression is eval'd in the page, which the CSP forbids.
    await page.wait_for_function(
        "(rms) => window.__tutor.peak > rms", arg=VOICE_RMS, polling=100, timeout=40_000
    )


async def stored_messages(page: Page) -> list[dict[str, Any]]:
    """The room's conversation through the API, as the page's user."""
    token = await page.evaluate("JSON.parse(localStorage.getItem('holo.identity')).token")
    room_id = page.url.split("/rooms/")[1].split("?")[0]
    async with httpx.AsyncClient(base_url=page.url.split("/rooms/")[0], timeout=10) as http:
        r = await http.get(
            f"/api/rooms/{room_id}/messages", headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def final_caption(page: Page) -> Any:
    return page.get_by_test_id("captions").locator("li[data-speaker=user][data-final=true]")


async def test_two_people_only_an_addressed_utterance_is_answered_and_both_hear_it(
    voice_cluster: tuple[Replica, Replica, LoadBalancer], voice_page: NewPage
) -> None:
    a, b, _ = voice_cluster
    learner = await voice_page(a.url)
    await open_voice_room(learner, "Lena")
    invite = await learner.get_by_label("Invite link for a second person").input_value()
    invitee = await voice_page(b.url)
    parts = urlsplit(invite)
    await invitee.goto(f"{parts.path}?{parts.query}")
    await sign_in(invitee, "Ivan")
    for page in (learner, invitee):
        await tutor_connected(page)
        await expect(page.get_by_role("button", name="Ask Ada")).to_be_visible()

    # Talking to each other: recognized on the learner's replica, and nothing more.
    heard = metric(a, "holo_stt_audio_seconds_total")
    await learner.evaluate("window.__speak()")
    await wait_for(lambda: metric(a, "holo_stt_audio_seconds_total") > heard, learner)

    # Push-to-talk: held while the question is said and recognized.
    ask = learner.get_by_role("button", name="Ask Ada")
    await ask.hover()
    await learner.mouse.down()
    await expect(ask).to_have_attribute("aria-pressed", "true")
    await learner.evaluate("window.__speak()")
    for page in (learner, invitee):
        await expect(final_caption(page)).to_contain_text(KEY_WORDS, timeout=30_000)
    await learner.mouse.up()

    # Both hear the answer, each from the tutor peer on their own replica.
    await hears_tutor(learner)
    await hears_tutor(invitee)
    for page in (learner, invitee):
        replies = page.get_by_test_id("messages").locator("[data-kind=ai]")
        await expect(replies).to_have_count(1, timeout=40_000)
    messages = await stored_messages(learner)
    spoken = [m for m in messages if (m.get("metadata") or {}).get("spoken")]
    assert [KEY_WORDS in m["text"] for m in spoken] == [True], spoken
    assert [m["reply_to"] for m in messages if m["sender"]["kind"] == "ai"] == [spoken[0]["id"]]
    await screenshot(learner, "voice-two-people")
    assert await accessibility_violations(learner) == []


async def test_talk_interrupt_and_keep_talking_when_a_replica_dies(
    voice_cluster: tuple[Replica, Replica, LoadBalancer], voice_page: NewPage
) -> None:
    a, b, lb = voice_cluster
    page = await voice_page(lb.url)
    await open_voice_room(page, "Lena")
    tile = page.get_by_test_id("tutor-tile")
    await expect(tile).to_have_class(re.compile(r"\btile-main\b"))
    await expect(page.get_by_test_id("tutor-state")).to_have_text("Listening: just talk")

    # Hands-free: the question is transcribed, stored as spoken, answered aloud.
    await page.evaluate("window.__speak()")
    caption = final_caption(page)
    await expect(caption).to_contain_text(KEY_WORDS, timeout=30_000)
    await hears_tutor(page)
    await expect(tile).to_have_attribute("data-state", "speaking")
    # Captions of both sides: the tutor's line holds the words of its reply as they play.
    tutor_caption = page.get_by_test_id("captions").locator("li[data-speaker=ai]")
    await expect(tutor_caption).to_contain_text("Ada:")
    said = (await tutor_caption.inner_text()).removeprefix("Ada:").strip().lstrip("…")
    reply = page.get_by_test_id("messages").locator("[data-kind=ai], [data-kind=ai-draft]")
    assert said and said in await reply.first.locator(".text").inner_text()
    mine = page.get_by_test_id("messages").locator(".msg-me")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("(spoken)")
    await screenshot(page, "tutor-on-stage")
    assert await accessibility_violations(page) == []
    # No clip plays while the tutor is live: its voice is only the track.
    assert await page.evaluate(
        "[...document.querySelectorAll('audio')].every((a) => !a.src || a.paused)"
    )

    # Barge-in: speaking over the tutor silences its track, and the stored reply keeps only
    # what was played.
    await page.evaluate("window.__speak()")
    await page.wait_for_function(
        "() => window.__tutor.loudAt > 0 && performance.now() - window.__tutor.loudAt > 1000",
        polling=50,
        timeout=10_000,
    )
    replies = page.get_by_test_id("messages").locator("[data-kind=ai]")
    await expect(replies.first).to_contain_text("(stopped)", timeout=30_000)
    first = next(m for m in await stored_messages(page) if m["sender"]["kind"] == "ai")
    assert first["metadata"]["interrupted"] is True
    # The interrupting question is answered in turn.
    await expect(replies).to_have_count(2, timeout=60_000)

    # The replica holding the call dies: the page reconnects through nginx to the other one,
    # negotiates a new tutor peer there, and the conversation goes on from Redis.
    holder, other = (a, b) if metric(a, "holo_voice_sessions") > 0 else (b, a)
    assert metric(other, "holo_voice_sessions") == 0
    pcs = await page.evaluate("window.__pcs.length")
    holder.kill()
    try:
        await page.wait_for_function(
            "(n) => window.__pcs.length > n", arg=pcs, polling=100, timeout=30_000
        )
        await tutor_connected(page)
        assert metric(other, "holo_voice_sessions") == 1
        await page.evaluate("window.__speak()")
        await expect(mine).to_have_count(3, timeout=30_000)
        await hears_tutor(page)
        await expect(replies).to_have_count(3, timeout=60_000)
        spoken = [m for m in await stored_messages(page) if (m.get("metadata") or {}).get("spoken")]
        assert len(spoken) == 3
        assert len({m["client_id"] for m in spoken}) == 3
    finally:
        holder.start()
