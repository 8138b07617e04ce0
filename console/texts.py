"""What people read from the console's code (error messages), kept in messages.yml."""
import functools
from pathlib import Path
from typing import Any, Dict

import yaml

MESSAGES = Path(__file__).resolve().parent / "messages.yml"


@functools.lru_cache(maxsize=1)
def _messages() -> Dict[str, str]:
    return yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))


def text(code: str, **values: Any) -> str:
    template = _messages().get(code) or _messages()["internal_error"]
    return template.format(**values) if values else template
