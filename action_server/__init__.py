"""Vecino's action server: rasa-sdk's own app behind Rasa's token (``python -m action_server``).

It lives outside ``actions/`` because rasa-sdk imports every submodule of that package."""
from action_server.app import ActionServerSettings, create_app

__all__ = ["ActionServerSettings", "create_app"]
