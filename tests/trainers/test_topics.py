"""The topic contract check (copied from shared/contract/topics.yml's rule)."""
from pathlib import Path

import pytest

from trainers import topics as topics_module
from trainers.topics import check_contract, compare_with_contract, load_topics, topics_of

SECTIONS = {"conversation": ["greet", "help"], "services": ["vtv", "green", "green_points"]}
SHARED_CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract" / "topics.yml"


@pytest.mark.parametrize(
    "intent, topics",
    [
        ("vtv", ["vtv"]),
        ("vtv/appointment", ["vtv"]),
        ("vtv_prices", ["vtv"]),
        ("greet", ["greet"]),
        ("vtvx", []),
        ("parking", []),
        ("green_points", ["green", "green_points"]),
    ],
)
def test_topics_of_an_intent(intent, topics):
    all_topics = [t for names in SECTIONS.values() for t in names]
    assert topics_of(intent, all_topics) == topics


def test_contract_problems_name_the_offending_intents():
    problems = check_contract(
        ["greet", "vtv/overview", "help_more", "nlu_fallback", "parking", "green_points"],
        SECTIONS,
    )
    assert len(problems) == 2
    assert "«green_points»" in problems[0] and "green, green_points" in problems[0]
    assert "«parking»" in problems[1]


def test_trainers_topics_hold_every_contract_topic():
    sections = load_topics()
    assert set(sections) == {"conversation", "services", "civil_defense"}
    assert "human_handoff" in sections["conversation"]
    assert "green_points" in sections["services"]


@pytest.mark.skipif(not SHARED_CONTRACT.is_file(), reason="shared/ is not beside the project")
def test_trainers_topics_match_the_shared_contract():
    assert compare_with_contract(SHARED_CONTRACT) == []


def test_compare_reports_a_topic_the_copy_lacks(tmp_path):
    contract = tmp_path / "topics.yml"
    contract.write_text("services:\n  vtv: verificación\n  parking: estacionamiento\n")
    problems = compare_with_contract(contract)
    assert len(problems) == 1 and "parking" in problems[0]


def test_cli_on_the_tiny_project(tiny_project, capsys):
    assert topics_module.main(["--proyecto", str(tiny_project)]) == 0
    assert "El contrato de temas se cumple" in capsys.readouterr().out
