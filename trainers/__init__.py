"""Tools for Vecino's NLU trainers: inbox export, merge, data linter and HTML report.

Every tool runs as ``python -m trainers.<name>``; what trainers read is Spanish and lives in
``trainers/messages.yml``; tunable numbers live in ``trainers/config.yml``.
"""
