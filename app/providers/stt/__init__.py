from app.providers.stt.base import STT, Partial, Recognition, STTTimeouts

__all__ = ["STT", "Partial", "Recognition", "STTTimeouts"]
