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


def system_prompt(companion: Companion) -> str:
    return (
        f"{companion.persona}\n\nYou tutor {companion.subject} at {companion.level} level.\n\n"
        f"{TUTORING_POLICY}"
    )


def build_prompt(
    companion: Companion, conversation: Sequence[Message], *, budget_tokens: int
) -> list[ChatMessage]:
    """``conversation`` oldest first, ending with the message being answered."""
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
    return [ChatMessage(role="system", content=system_prompt(companion)), *turns]
