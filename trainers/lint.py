"""Data linter: the guard rails CI runs on the NLU data, domain and responses.

Rules (each has a failing fixture under tests/trainers/fixtures/):
  yaml           every domain and data file is readable YAML
  examples       every intent of the domain has examples
  minimum        every topic reaches the agreed number of examples (trainers/config.yml)
  domain         every intent with examples is declared in the domain
  duplicates     no example is written under two intents
  entities       annotations name entities (and roles/groups) the domain declares
  synonyms       synonyms are not empty and no text maps to two values
  lookups        lookup tables are not empty, name a domain entity and repeat no value
  responses      every utter_ named by the domain, rules, stories, actions code or a retrieval
                 intent has a response with text
  spanish        responses look Spanish
  contract       every intent belongs to one topic of the contract (trainers/topics.py)

Usage: python -m trainers.lint [--minimo-servicio 40] [--minimo-conversacion 20]
"""
import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set

from trainers.messages import say
from trainers.project import (
    PROJECT_ROOT,
    RASA_DEFAULT_INTENTS,
    Project,
    base_intent,
    load_config,
    load_project,
    normalize_text,
)
from trainers.topics import check_contract, load_topics, topics_of

RULES = (
    "yaml", "examples", "minimum", "domain", "duplicates", "entities", "synonyms", "lookups",
    "responses", "spanish", "contract",
)

_SPANISH_WORDS = frozenset(
    """de la que el en y los se del las un por con una su para es al lo como más mas pero sus le
    ya porque muy sin sobre también tambien hasta hay donde dónde quien desde todo nos uno les ni
    ese eso esto esta este estos estas algo nada hola gracias sí acá aca vos tenés tenes querés
    queres podés podes sos te tu tus mi mis qué cómo cuál cuando cuándo ahora podemos puedo puede
    necesitás escribí elegí decime contame perdón disculpá listo dale bueno entonces turno
    ciudad vecino vecina vecinos información""".split()
)
_ENGLISH_WORDS = frozenset(
    """the and is are you your to of in for with on this that it be can we our please have has
    what how here there will from by at an or do does thanks hello hi sorry want would could
    should my me which when where""".split()
)
_WORD_RE = re.compile(r"[a-záéíóúüñ]+")
_TEMPLATE_RE = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str


def looks_spanish(text: str) -> bool:
    """Crude check: a text with more English than Spanish function words is not Spanish.

    Texts without function words of either language ("Horario: {hours}") pass: they are labels.
    """
    without_templates = _TEMPLATE_RE.sub(" ", text.lower())
    words = _WORD_RE.findall(without_templates)
    spanish = sum(w in _SPANISH_WORDS for w in words)
    spanish += len(re.findall(r"[áéíóúñ¿¡]", without_templates))
    english = sum(w in _ENGLISH_WORDS for w in words)
    return english <= spanish


def _shown(project: Project, path: Path) -> str:
    try:
        return str(path.relative_to(project.root))
    except ValueError:
        return str(path)


def check_yaml(project: Project, **_: Any) -> List[Problem]:
    return [
        Problem("yaml", say("lint.unreadable", path=_shown(project, path), error=error))
        for path, error in project.unreadable
    ]


def check_examples(project: Project, **_: Any) -> List[Problem]:
    with_examples = {base_intent(e.intent) for e in project.examples if e.text.strip()}
    return [
        Problem("examples", say("lint.no_examples", intent=intent))
        for intent in project.domain_intents
        if intent not in with_examples and intent not in RASA_DEFAULT_INTENTS
    ]


def topic_counts(project: Project, sections: Dict[str, List[str]]) -> Dict[str, int]:
    """Training examples per topic, counting every intent and question of the topic."""
    counts: Dict[str, int] = defaultdict(int)
    all_topics = [t for names in sections.values() for t in names]
    for example in project.examples:
        for topic in topics_of(example.intent, all_topics):
            counts[topic] += 1
    return counts


def below_minimum(
    project: Project, minimums: Dict[str, int], sections: Dict[str, List[str]]
) -> List[Dict[str, Any]]:
    """Topics of the domain's intents with fewer examples than their section's minimum."""
    counts = topic_counts(project, sections)
    all_topics = [t for names in sections.values() for t in names]
    used_topics = {t for i in project.domain_intents for t in topics_of(i, all_topics)}
    rows = []
    for section, topics in sections.items():
        minimum = minimums.get(section, 0)
        for topic in topics:
            if topic in used_topics and counts[topic] < minimum:
                rows.append({"topic": topic, "count": counts[topic], "minimum": minimum})
    return rows


def check_minimum(
    project: Project, minimums: Dict[str, int], sections: Dict[str, List[str]], **_: Any
) -> List[Problem]:
    return [
        Problem("minimum", say("lint.too_few", topic=row["topic"], count=row["count"],
                               minimum=row["minimum"], missing=row["minimum"] - row["count"]))
        for row in below_minimum(project, minimums, sections)
    ]


def check_domain(project: Project, **_: Any) -> List[Problem]:
    declared = set(project.domain_intents)
    first_file: Dict[str, Path] = {}
    for example in project.examples:
        first_file.setdefault(base_intent(example.intent), example.path)
    return [
        Problem("domain", say("lint.not_in_domain", intent=intent, path=_shown(project, path)))
        for intent, path in sorted(first_file.items())
        if intent not in declared
    ]


def check_duplicates(project: Project, **_: Any) -> List[Problem]:
    originals: Dict[str, str] = {}
    intents: Dict[str, Set[str]] = defaultdict(set)
    for example in project.examples:
        key = normalize_text(example.text)
        if key:
            originals.setdefault(key, example.text)
            intents[key].add(example.intent)
    return [
        Problem("duplicates", say("lint.duplicate", text=originals[key],
                                  intents=", ".join(sorted(names))))
        for key, names in sorted(intents.items())
        if len(names) > 1
    ]


def check_entities(project: Project, **_: Any) -> List[Problem]:
    declared = project.domain_entities
    problems = []
    for example in project.examples:
        path = _shown(project, example.path)
        for entity in example.entities:
            name = entity.get("entity")
            if name not in declared:
                problems.append(Problem("entities", say(
                    "lint.unknown_entity", path=path, text=example.raw, entity=name)))
                continue
            if not str(entity.get("value", "")).strip():
                problems.append(Problem("entities", say(
                    "lint.empty_annotation", path=path, text=example.raw, entity=name)))
            for kind, key in (("rol", "roles"), ("grupo", "groups")):
                value = entity.get(key[:-1])
                if value is not None and value not in declared[name][key]:
                    problems.append(Problem("entities", say(
                        "lint.unknown_role", path=path, text=example.raw, kind=kind,
                        name=value, entity=name)))
    return problems


def check_synonyms(project: Project, **_: Any) -> List[Problem]:
    problems = []
    values_of: Dict[str, Set[str]] = defaultdict(set)
    for synonym in project.synonyms:
        value = "" if synonym.value is None else str(synonym.value).strip()
        if not value or not synonym.examples or any(not str(e).strip() for e in synonym.examples):
            problems.append(Problem("synonyms", say(
                "lint.synonym_empty", path=_shown(project, synonym.path), value=value)))
        for example in synonym.examples:
            if str(example).strip():
                values_of[str(example).strip().lower()].add(value)
    for example in project.examples:
        for entity in example.entities:
            written = example.text[entity["start"]:entity["end"]]
            value = str(entity.get("value", ""))
            if value and value != written:
                values_of[written.strip().lower()].add(value)
    for text, values in sorted(values_of.items()):
        if len(values) > 1:
            problems.append(Problem("synonyms", say(
                "lint.synonym_two_values", example=text, values=", ".join(sorted(values)))))
    return problems


def check_lookups(project: Project, **_: Any) -> List[Problem]:
    problems = []
    seen: Dict[str, Set[str]] = defaultdict(set)
    entities = project.domain_entities
    for lookup in project.lookups:
        name = "" if lookup.name is None else str(lookup.name).strip()
        path = _shown(project, lookup.path)
        if not name or not lookup.values or any(not str(v).strip() for v in lookup.values):
            problems.append(Problem("lookups", say("lint.lookup_empty", path=path, name=name)))
        if name and name not in entities:
            problems.append(Problem("lookups", say("lint.lookup_unknown", path=path, name=name)))
        for value in lookup.values:
            key = str(value).strip()
            if not key:
                continue
            if key in seen[name]:
                problems.append(Problem("lookups", say(
                    "lint.lookup_duplicate", name=name, value=str(value).strip())))
            seen[name].add(key)
    return problems


def _has_text(variations: Iterable[Any]) -> bool:
    return any(isinstance(v, dict) and str(v.get("text") or "").strip() for v in variations)


def check_responses(project: Project, **_: Any) -> List[Problem]:
    named: Dict[str, Set[str]] = {k: set(v) for k, v in project.named_utterances.items()}
    for retrieval in project.retrieval_intents:
        named.setdefault(f"utter_{retrieval}", set()).add("data/nlu (retrieval)")
    retrieval_actions = {f"utter_{base_intent(r)}" for r in project.retrieval_intents}
    problems = []
    for name, sources in sorted(named.items()):
        if name in retrieval_actions:
            continue  # the ResponseSelector's action: its answers are utter_<topic>/<question>
        variations = project.responses.get(name, ([], None))[0]
        if not _has_text(variations):
            problems.append(Problem("responses", say(
                "lint.response_missing", name=name, sources=", ".join(sorted(sources)))))
    return problems


def check_spanish(project: Project, **_: Any) -> List[Problem]:
    problems = []
    for name, (variations, path) in sorted(project.responses.items()):
        for variation in variations:
            text = str(variation.get("text") or "") if isinstance(variation, dict) else ""
            if text.strip() and not looks_spanish(text):
                problems.append(Problem("spanish", say(
                    "lint.response_not_spanish", path=_shown(project, path), name=name,
                    text=text.strip()[:80])))
    return problems


def check_topic_contract(project: Project, sections: Dict[str, List[str]], **_: Any):
    intents = set(project.domain_intents) | {e.intent for e in project.examples}
    return [
        Problem("contract", say("lint.contract", problem=problem))
        for problem in check_contract(intents, sections)
    ]


CHECKS = {
    "yaml": check_yaml,
    "examples": check_examples,
    "minimum": check_minimum,
    "domain": check_domain,
    "duplicates": check_duplicates,
    "entities": check_entities,
    "synonyms": check_synonyms,
    "lookups": check_lookups,
    "responses": check_responses,
    "spanish": check_spanish,
    "contract": check_topic_contract,
}


def lint(
    project: Project,
    minimums: Optional[Dict[str, int]] = None,
    sections: Optional[Dict[str, List[str]]] = None,
    rules: Iterable[str] = RULES,
) -> List[Problem]:
    """Every problem the chosen rules find in the project, in rule order."""
    minimums = minimums or load_config()["lint"]["min_examples"]
    sections = sections or load_topics()
    problems: List[Problem] = []
    for rule in rules:
        problems.extend(CHECKS[rule](project, minimums=minimums, sections=sections))
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    defaults = load_config()["lint"]["min_examples"]
    parser = argparse.ArgumentParser(
        prog="python -m trainers.lint",
        description="Revisa los datos de entrenamiento, el dominio y las respuestas.",
    )
    parser.add_argument("--proyecto", type=Path, default=PROJECT_ROOT, help="carpeta del proyecto")
    parser.add_argument("--minimo-servicio", type=int, default=defaults["services"],
                        help="ejemplos mínimos por tema de servicio")
    parser.add_argument("--minimo-conversacion", type=int, default=defaults["conversation"],
                        help="ejemplos mínimos por tema de conversación")
    parser.add_argument("--minimo-defensa-civil", type=int, default=defaults["civil_defense"],
                        help="ejemplos mínimos por tema de Defensa Civil")
    parser.add_argument("--reglas", nargs="+", choices=RULES, default=list(RULES),
                        help="revisar solo estas reglas")
    args = parser.parse_args(argv)
    project = load_project(args.proyecto)
    minimums = {
        "services": args.minimo_servicio,
        "conversation": args.minimo_conversacion,
        "civil_defense": args.minimo_defensa_civil,
    }
    problems = lint(project, minimums, rules=args.reglas)
    if not problems:
        print(say("common.ok", text=say(
            "lint.ok", examples=len(project.examples), intents=len(project.domain_intents),
            responses=len(project.responses))))
        return 0
    print(say("lint.header", count=len(problems)))
    for problem in problems:
        print(f"  [{problem.rule}] {problem.message}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
