"""Spanish messages for trainers, read from trainers/messages.yml."""
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import yaml

_MESSAGES_FILE = Path(__file__).resolve().parent / "messages.yml"


@lru_cache(maxsize=1)
def _messages() -> Dict[str, Any]:
    return yaml.safe_load(_MESSAGES_FILE.read_text(encoding="utf-8"))


def say(key: str, **values: Any) -> str:
    """The message ``section.name`` of messages.yml with its placeholders filled in."""
    node: Any = _messages()
    for part in key.split("."):
        node = node[part]
    return str(node).format(**values)
