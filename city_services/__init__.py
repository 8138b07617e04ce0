"""Reference implementation of the City of Buenos Aires systems used by Vecino (see README.md)."""
