"""Text to speech: ``base`` is the interface, one module per engine, ``factory`` picks one."""

from app.providers.tts.base import TTS, Speech, TTSTimeouts

__all__ = ["TTS", "Speech", "TTSTimeouts"]
