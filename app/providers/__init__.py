"""Providers: one small interface per capability (LLM, TTS, storage) and one module per vendor.

Nothing here reads settings or creates global clients: callers (the app lifespan, tests,
benchmarks) build providers from explicit arguments through each capability's ``factory``.
Errors share one vocabulary (``errors``) so the reply pipeline can decide what the learner sees
without knowing which vendor failed; timings reach Prometheus through ``observer``.
"""
