"""Chat LLMs: ``base`` is the interface, one module per vendor, ``factory`` picks one."""

from app.providers.llm.base import (
    LLM,
    ChatMessage,
    LLMEvent,
    LLMTimeouts,
    Persona,
    TextDelta,
    UsageReport,
)

__all__ = [
    "LLM",
    "ChatMessage",
    "LLMEvent",
    "LLMTimeouts",
    "Persona",
    "TextDelta",
    "UsageReport",
]
