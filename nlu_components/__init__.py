"""Custom NLU graph components, named in config.yml by module path."""
