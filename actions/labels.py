"""Citizen-facing labels of canonical values, read lazily from actions/data/labels.yml."""
import functools
from pathlib import Path
from typing import Dict, Iterable, Text

import yaml

LABELS_FILE = Path(__file__).parent / "data" / "labels.yml"


@functools.lru_cache(maxsize=1)
def _labels() -> Dict[Text, Dict[Text, Text]]:
    with LABELS_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def label(kind: Text, value: Text) -> Text:
    """label("materials", "papel_carton") -> the Spanish label; unknown values unchanged."""
    return _labels().get(kind, {}).get(value, value)


def labels(kind: Text, values: Iterable[Text]) -> Text:
    return ", ".join(label(kind, v) for v in values)


def known(kind: Text) -> Iterable[Text]:
    return tuple(_labels().get(kind, {}))
