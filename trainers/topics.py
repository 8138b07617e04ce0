"""The NLU topic contract check.

The contract (shared/contract/topics.yml) says every intent belongs to exactly one topic: its
name is the topic's name or starts with ``<topic>_``; a retrieval intent ``<topic>/<question>``
belongs to the topic of its base intent. Rasa's nlu_fallback is no topic. The topic names are
kept as data in trainers/topics.yml.

Usage: python -m trainers.topics [--contrato ../shared/contract/topics.yml]
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import yaml

from trainers.messages import say
from trainers.project import PROJECT_ROOT, RASA_DEFAULT_INTENTS, base_intent, load_project

TOPICS_FILE = Path(__file__).resolve().parent / "topics.yml"


def load_topics(path: Path = TOPICS_FILE) -> Dict[str, List[str]]:
    """Section (conversation, services, civil_defense) -> topic names.

    Reads both trainers/topics.yml (lists) and the shared contract (mappings with descriptions).
    """
    content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {section: list(topics or []) for section, topics in content.items()}


def topics_of(intent: str, topics: Iterable[str]) -> List[str]:
    """Every topic the intent's name places it in (the contract wants exactly one)."""
    base = base_intent(intent)
    return [t for t in topics if base == t or base.startswith(t + "_")]


def section_of(topic: str, sections: Dict[str, List[str]]) -> Optional[str]:
    for section, names in sections.items():
        if topic in names:
            return section
    return None


def check_contract(intents: Iterable[str], sections: Dict[str, List[str]]) -> List[str]:
    """Problems (Spanish, one per intent) of intents that break the contract."""
    all_topics = [t for names in sections.values() for t in names]
    problems = []
    for intent in sorted(set(intents)):
        if intent in RASA_DEFAULT_INTENTS:
            continue
        found = topics_of(intent, all_topics)
        if not found:
            problems.append(say("topics.no_topic", intent=intent))
        elif len(found) > 1:
            problems.append(say("topics.two_topics", intent=intent, topics=", ".join(found)))
    return problems


def compare_with_contract(contract: Path) -> List[str]:
    """Problems when trainers/topics.yml lists other topic names than the shared contract."""
    ours = {t for names in load_topics().values() for t in names}
    theirs = {t for names in load_topics(contract).values() for t in names}
    if ours == theirs:
        return []
    return [
        say(
            "topics.contract_differs",
            path=contract,
            missing=", ".join(sorted(theirs - ours)) or "-",
            extra=", ".join(sorted(ours - theirs)) or "-",
        )
    ]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.topics",
        description="Revisa que cada intención del dominio y de los datos tenga su tema.",
    )
    parser.add_argument("--proyecto", type=Path, default=PROJECT_ROOT, help="carpeta del proyecto")
    parser.add_argument(
        "--contrato", type=Path, help="contrato compartido para comparar los nombres de temas"
    )
    args = parser.parse_args(argv)
    project = load_project(args.proyecto)
    intents = set(project.domain_intents) | {e.intent for e in project.examples}
    problems = check_contract(intents, load_topics())
    if args.contrato:
        problems += compare_with_contract(args.contrato)
    for problem in problems:
        print(say("common.error", text=problem))
    if problems:
        return 1
    print(say("topics.ok", count=len(intents)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
