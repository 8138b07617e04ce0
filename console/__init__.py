"""Vecino's operators' console: the handoff queue, the operators' web pages and the
internal API the bot's processes call when a citizen asks for a person."""
