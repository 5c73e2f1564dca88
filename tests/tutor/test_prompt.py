"""The prompt: persona, tutoring policy, the recent conversation cut to a token budget."""

from __future__ import annotations

from app.catalogue import Catalogue
from app.models import Message, Sender
from app.tutor.prompt import TUTORING_POLICY, build_prompt, conversation_for

_ADA = Catalogue.load().get("ada-math")
assert _ADA is not None
ADA = _ADA
assert ADA is not None
ANN = Sender(kind="user", user_id="u1", display_name="Ann")
BEA = Sender(kind="user", user_id="u2", display_name="Bea")
TUTOR = Sender(kind="ai", display_name="Ada")


def msg(sender: Sender, text: str, seq: int) -> Message:
    return Message(id=f"m{seq}", seq=seq, room_id="r", sender=sender, text=text, ts=float(seq))


def test_persona_and_policy_then_the_conversation() -> None:
    conversation = [
        msg(ANN, "Hi", 1),
        msg(TUTOR, "Hello! What shall we do?", 2),
        msg(ANN, "x+1=3", 3),
    ]
    prompt = build_prompt(ADA, conversation, budget_tokens=1000)
    assert prompt[0].role == "system"
    assert ADA.persona in prompt[0].content and TUTORING_POLICY in prompt[0].content
    assert "mathematics" in prompt[0].content
    assert [(m.role, m.content) for m in prompt[1:]] == [
        ("user", "Hi"),
        ("assistant", "Hello! What shall we do?"),
        ("user", "x+1=3"),
    ]


def test_cut_from_the_oldest_end_to_the_budget() -> None:
    conversation = [
        msg(ANN if i % 2 else TUTOR, f"message number {i} " * 5, i) for i in range(1, 40)
    ]
    prompt = build_prompt(ADA, conversation, budget_tokens=200)
    kept = prompt[1:]
    assert kept[-1].content == conversation[-1].text
    assert sum(len(m.content) // 4 + 4 for m in kept) <= 200
    assert len(kept) < len(conversation)
    assert kept[0].role == "user"  # never opens with the tutor


def test_the_latest_message_always_goes_in_shortened_to_fit() -> None:
    long = "why " * 2000
    prompt = build_prompt(ADA, [msg(ANN, "earlier", 1), msg(ANN, long, 2)], budget_tokens=100)
    assert len(prompt) == 2 and prompt[1].role == "user"
    assert long.endswith(prompt[1].content) and len(prompt[1].content) <= 400


def test_two_humans_are_named() -> None:
    conversation = [msg(ANN, "Is it 4?", 1), msg(BEA, "I think 5.", 2)]
    prompt = build_prompt(ADA, conversation, budget_tokens=1000)
    assert [m.content for m in prompt[1:]] == ["Ann: Is it 4?", "Bea: I think 5."]


def test_an_interrupted_reply_goes_back_after_the_message_it_answered() -> None:
    q1, q2 = msg(ANN, "What is a prime?", 1), msg(ANN, "Wait, what is an even number?", 2)
    partial = msg(TUTOR, "A prime is", 3).model_copy(update={"reply_to": "m1"})
    q3 = msg(ANN, "and odd?", 4)
    stored = [q1, q2, partial, q3]
    assert conversation_for(stored, "m2") == [q1, partial, q2]
    assert conversation_for(stored, "m4") == [q1, partial, q2, q3]
    assert conversation_for(stored, "gone") is None
