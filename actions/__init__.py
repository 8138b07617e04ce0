"""Vecino's custom actions, served by the rasa-sdk action server (`rasa run actions`).

rasa-sdk imports every submodule of this package at start and instantiates every concrete
Action subclass once with no arguments: modules here do no I/O at import time, and actions keep
no per-conversation state.
"""
