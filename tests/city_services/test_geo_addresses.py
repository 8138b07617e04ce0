"""The geocoder on typed addresses and corners (tests/city_services/data/addresses.yml)."""
import re
from pathlib import Path

import pytest
import yaml

from bench.geocoder import TARGET, dataset_rows, load_cases, resolution_rate, run
from city_services.geo import Geocoder


@pytest.fixture(scope="module")
def outcomes():
    rows = dataset_rows()
    return run(Geocoder(rows), rows, load_cases())[0]


def test_the_set_has_at_least_100_typed_addresses_and_corners():
    cases = load_cases()
    assert len(cases) >= 100
    assert sum(" y " in str(c["text"]).lower() or "esq" in str(c["text"]).lower() for c in cases) >= 10


def test_resolution_rate_on_streets_the_data_knows(outcomes):
    misses = [(o.case["text"], o.why) for o in outcomes if not o.ok and o.case.get("known") is not False]
    assert resolution_rate(outcomes) >= TARGET, misses


def test_unknown_streets_are_never_placed_on_a_wrong_street(outcomes):
    wrong = [(o.case["text"], o.result) for o in outcomes if o.case.get("known") is False and not o.ok]
    assert wrong == []


def test_the_examples_the_bot_gives_are_found():
    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
    texts = [v["text"] for name in ("utter_ask_location", "utter_invalid_location")
             for v in domain["responses"][name]]
    examples = [e for text in texts for e in re.findall(r"«([^»]+)»", text)]
    assert examples
    geocoder = Geocoder(dataset_rows())
    for example in examples:
        assert geocoder.locate(example).precision != "barrio", example
