"""Offline recognition with pocketsphinx and the en-US model its wheel ships (no key, no
network). Rough on free speech, good enough to keep talking working without a vendor.

A decoder decodes while the learner speaks (in a worker thread, chunk by chunk), so at the end
of the utterance only the last chunk is left: the text is ready in tens of milliseconds instead
of the 0.65 to 1 s a whole utterance takes on a loaded 2-core machine. Decoders are heavy (about
0.2 s and ~95 MB each, with the model): a replica keeps at most ``max_decoders`` and lends one
to each utterance; a further utterance waits for one (its audio queues meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from app.providers.errors import UpstreamError
from app.providers.stt.base import BYTES_PER_SECOND, SAMPLE_RATE, Partial


def _new_decoder() -> Any:
    from pocketsphinx import Decoder  # imported lazily: loading the library takes a while

    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")


class _DecoderPool:
    def __init__(self, size: int) -> None:
        self._idle: list[Any] = []
        self._slots = asyncio.Semaphore(size)

    async def take(self) -> Any:
        await self._slots.acquire()
        if self._idle:
            return self._idle.pop()
        try:
            return await asyncio.to_thread(_new_decoder)
        except BaseException:
            self._slots.release()
            raise

    def give_back(self, decoder: Any) -> None:
        self._idle.append(decoder)
        self._slots.release()


class _SphinxRecognition:
    def __init__(self, pool: _DecoderPool) -> None:
        self._pool = pool
        self._decoder: Any = None
        self._lock = asyncio.Lock()  # chunks are decoded in order, one at a time
        self.seconds = 0.0

    async def feed(self, pcm: bytes) -> None:
        self.seconds += len(pcm) / BYTES_PER_SECOND
        async with self._lock:
            if self._decoder is None:
                self._decoder = await self._pool.take()
                await asyncio.to_thread(self._decoder.start_utt)
            await asyncio.to_thread(self._decoder.process_raw, pcm, False, False)

    async def finish(self) -> str:
        async with self._lock:
            decoder, self._decoder = self._decoder, None
            if decoder is None:
                return ""
            try:
                await asyncio.to_thread(decoder.end_utt)
                hyp = decoder.hyp()
            except RuntimeError as exc:
                raise UpstreamError(str(exc), provider="pocketsphinx") from exc
            finally:
                self._pool.give_back(decoder)
            return str(hyp.hypstr) if hyp is not None else ""

    async def cancel(self) -> None:
        async with self._lock:
            decoder, self._decoder = self._decoder, None
            if decoder is not None:
                with contextlib.suppress(RuntimeError):
                    await asyncio.to_thread(decoder.end_utt)
                self._pool.give_back(decoder)


class PocketsphinxSTT:
    provider = "pocketsphinx"
    offline = True

    def __init__(self, *, max_decoders: int = 2) -> None:
        self._pool = _DecoderPool(max_decoders)

    async def warm_up(self) -> None:
        """Load one decoder now, so the first utterance does not wait for it."""
        self._pool.give_back(await self._pool.take())

    def start(self, on_partial: Partial | None = None) -> _SphinxRecognition:
        return _SphinxRecognition(self._pool)
