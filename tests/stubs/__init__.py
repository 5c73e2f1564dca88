"""Loopback stand-ins for the vendors (OpenAI-compatible chat, ElevenLabs TTS).

Real HTTP servers on 127.0.0.1, each on its own thread and event loop so their timing does not
depend on the loop under test. Reusable by provider tests, pipeline tests and benchmarks.
"""
