"""The Holo Tutor TURN operator: runs coturn for a `TurnServer` and rotates its shared secret.

The package is not named `operator` because that would shadow the standard library module.
"""
