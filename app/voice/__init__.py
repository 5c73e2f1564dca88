"""Talking with the tutor: a server-side WebRTC peer per human (docs/tutor.md#voice)."""
