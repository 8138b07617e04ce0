"""Custom Rasa input/output channels of the Vecino assistant."""
