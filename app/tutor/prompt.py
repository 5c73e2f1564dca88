"""What the model reads: the companion's persona, the tutoring policy, the recent conversation.

The conversation is cut from the oldest end to a token budget (estimated at four characters a
token, the same rule the providers use when an upstream reports no usage); the learner's latest
message always goes in, shortened to fit if it must.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.catalogue import Companion
from app.models import Message
from app.providers.llm import ChatMessage, Persona
from app.providers.llm.base import estimate_tokens

TUTORING_POLICY = """How you tutor:
- Guide the learner to the answer with questions and hints. Do not hand out final answers or \
complete solutions, even when asked; if they are stuck after a hint, show one small next step.
- One idea at a time. End with a question that moves the learner one step forward.
- Your replies are spoken aloud: two to four short sentences, plain text, no markdown, lists, \
tables or formulas in markup.
- Be warm and encouraging, stay on your subject, and answer in the language the learner uses."""

# Role and separators cost a few tokens per message on every chat API.
_PER_MESSAGE_TOKENS = 4


def persona_of(companion: Companion) -> Persona:
    return Persona(name=companion.name, subject=companion.subject, level=companion.level)


def system_prompt(companion: Companion, memory: str = "") -> str:
    prompt = (
        f"{companion.persona}\n\nYou tutor {companion.subject} at {companion.level} level.\n\n"
        f"{TUTORING_POLICY}"
    )
    return f"{prompt}\n\n{memory}" if memory else prompt


def conversation_for(messages: Sequence[Message], message_id: str) -> list[Message] | None:
    """The conversation a reply to ``message_id`` continues: everything up to that message, each
    tutor reply right after the message it answers (an interrupted reply is stored after the
    message that interrupted it). None when the message is not among ``messages``."""
    ids = [m.id for m in messages]
    if message_id not in ids:
        return None
    cut = ids.index(message_id)
    earlier = set(ids[:cut])
    replies = {m.reply_to: m for m in messages if m.sender.kind == "ai" and m.reply_to in earlier}
    moved = {m.id for m in replies.values()}
    ordered: list[Message] = []
    for message in messages[: cut + 1]:
        if message.id in moved:
            continue
        ordered.append(message)
        if message.id in replies:
            ordered.append(replies[message.id])
    return ordered


def build_prompt(
    companion: Companion,
    conversation: Sequence[Message],
    *,
    budget_tokens: int,
    memory: str = "",
) -> list[ChatMessage]:
    """``conversation`` oldest first, ending with the message being answered; ``memory`` is
    what the tutor remembers of the learner (app/tutor/memory.py), fixed when the room opened."""
    speakers = {m.sender.user_id for m in conversation if m.sender.kind == "user"}
    turns: list[ChatMessage] = []
    remaining = budget_tokens
    for message in reversed(conversation):
        content = message.text
        if message.sender.kind == "user" and len(speakers) > 1:
            content = f"{message.sender.display_name}: {content}"  # two humans: say who spoke
        cost = estimate_tokens(content) + _PER_MESSAGE_TOKENS
        if cost > remaining:
            if not turns:
                keep = max(1, remaining - _PER_MESSAGE_TOKENS) * 4
                turns.append(ChatMessage(role="user", content=content[-keep:]))
            break
        remaining -= cost
        role = "assistant" if message.sender.kind == "ai" else "user"
        turns.append(ChatMessage(role=role, content=content))
    turns.reverse()
    # Chat models expect the conversation to open with the user.
    while turns and turns[0].role == "assistant":
        turns.pop(0)
    return [ChatMessage(role="system", content=system_prompt(companion, memory)), *turns]
