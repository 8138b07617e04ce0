"""Merge the messages a trainer labelled in an inbox file into the NLU training data.

Reads the inbox file (YAML from trainers.inbox, or its CSV form), and adds each labelled message
as an example of its intent in ``data/nlu/inbox/<date>.yml`` (Rasa's YAML format). It refuses
labels that are not intents of the domain (or retrieval intents ``<topic>/<question>`` of the
data), retrieval base intents without the question, annotations of unknown entities, and
examples that already exist under another intent. Masking placeholders (<DNI>, <PATENTE>...)
become sample values, annotated with their entity when the domain declares it.

Usage: python -m trainers.merge inbox/2026-11-22_2026-11-22.yml
"""
import argparse
import csv
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml
from rasa.shared.nlu.training_data.entities_parser import (
    find_entities_in_training_example,
    replace_entities,
)
from rasa.shared.utils.io import read_yaml

from trainers.messages import say
from trainers.project import (
    PROJECT_ROOT,
    Project,
    base_intent,
    load_config,
    load_project,
    normalize_text,
    parse_examples,
)

IGNORED_LABELS = frozenset({"", "-", "ignorar", "ninguna"})
MERGED_DIR = Path("data") / "nlu" / "inbox"
FILE_HEADER = (
    "# Examples merged from the trainers' inbox (python -m trainers.merge). Generated file:\n"
    "# edit it like any other data file; merge adds to it and keeps what is here.\n"
)


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str


@dataclass
class MergeResult:
    merged: List[Labelled] = field(default_factory=list)
    already: List[Labelled] = field(default_factory=list)
    refused: List[str] = field(default_factory=list)  # Spanish reasons
    ignored: int = 0
    lines: List[str] = field(default_factory=list)  # Spanish report, in file order


def read_labelled(path: Path) -> Tuple[List[Labelled], int]:
    """Labelled messages of an inbox file and the number of messages left without a label."""
    rows: List[Tuple[str, str]] = []
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append((row.get("texto") or "", row.get("intencion") or ""))
    else:
        document = read_yaml(path.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict) or not isinstance(document.get("grupos"), list):
            raise ValueError("falta la lista «grupos»")
        for group in document["grupos"]:
            group_label = str(group.get("intencion") or "")
            for message in group.get("mensajes") or []:
                label = str(message.get("intencion") or "") or group_label
                rows.append((str(message.get("texto") or ""), label))
    labelled, ignored = [], 0
    for text, label in rows:
        label = label.strip()
        if label.lower() in IGNORED_LABELS:
            ignored += 1
            continue
        labelled.append(Labelled(" ".join(text.split()), label))
    return labelled, ignored


def fill_placeholders(text: str, placeholders: Dict[str, Dict[str, Any]], entities: set) -> str:
    """Replace masking placeholders by sample values, annotated when the entity exists."""
    for placeholder, spec in placeholders.items():
        entity = spec.get("entity")
        value = str(spec["value"])
        replacement = f"[{value}]({entity})" if entity and entity in entities else value
        text = text.replace(placeholder, replacement)
    return text


def check(project: Project, labelled: List[Labelled], placeholders: Dict[str, Any]) -> MergeResult:
    """Decide, for each labelled message, whether it is merged, already there or refused."""
    result = MergeResult()
    valid = project.valid_labels()
    domain_intents = set(project.domain_intents)
    entities = set(project.domain_entities)
    existing = project.examples_by_text()
    prepared = [
        Labelled(fill_placeholders(item.text, placeholders, entities), item.intent)
        for item in labelled
    ]
    labels_of: Dict[str, set] = {}
    for item in prepared:
        labels_of.setdefault(normalize_text(replace_entities(item.text)), set()).add(item.intent)
    seen = set()
    for item in prepared:
        plain = replace_entities(item.text)
        key = normalize_text(plain)
        if not key:
            result.refused.append(say("merge.empty_text", intent=item.intent))
            result.lines.append(result.refused[-1])
            continue
        reason = _refusal(item, plain, key, valid, domain_intents, entities, existing, labels_of,
                          project)
        if reason:
            result.refused.append(reason)
            result.lines.append(reason)
        elif item.intent in existing.get(key, set()) or (key, item.intent) in seen:
            result.already.append(item)
            result.lines.append(say("merge.already", text=plain, intent=item.intent))
        else:
            seen.add((key, item.intent))
            result.merged.append(item)
            result.lines.append(say("merge.merged", text=plain, intent=item.intent))
    return result


def _refusal(item, plain, key, valid, domain_intents, entities, existing, labels_of, project):
    if item.intent not in valid:
        choices = sorted(r for r in project.retrieval_intents if base_intent(r) == item.intent)
        if item.intent in domain_intents and choices:
            return say("merge.retrieval_base", text=plain, intent=item.intent,
                       choices=", ".join(choices[:3]))
        return say("merge.unknown_label", text=plain, intent=item.intent)
    for entity in find_entities_in_training_example(item.text):
        if entity["entity"] not in entities:
            return say("merge.bad_entity", text=plain, entity=entity["entity"])
    others = sorted(existing.get(key, set()) - {item.intent})
    if others:
        return say("merge.other_intent", text=plain, other=", ".join(others))
    if len(labels_of[key]) > 1:
        return say("merge.conflict", text=plain, intents=", ".join(sorted(labels_of[key])))
    return None


def write_merged(path: Path, merged: List[Labelled]) -> None:
    """Add the examples to the generated data file, keeping what it already holds."""
    by_intent: Dict[str, List[str]] = {}
    if path.is_file():
        content = read_yaml(path.read_text(encoding="utf-8")) or {}
        for item in content.get("nlu") or []:
            if isinstance(item, dict) and "intent" in item:
                by_intent.setdefault(str(item["intent"]), []).extend(
                    parse_examples(item.get("examples"))
                )
    for item in merged:
        by_intent.setdefault(item.intent, []).append(item.text)
    blocks = []
    for intent in sorted(by_intent):
        examples = "".join(f"    - {text}\n" for text in by_intent[intent])
        blocks.append(f"- intent: {intent}\n  examples: |\n{examples}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        FILE_HEADER + 'version: "3.1"\n\nnlu:\n' + "\n".join(blocks), encoding="utf-8"
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainers.merge",
        description="Agrega a los datos de entrenamiento los mensajes etiquetados de la bandeja.",
    )
    parser.add_argument("archivo", type=Path, help="bandeja etiquetada (.yml o .csv)")
    parser.add_argument("--proyecto", type=Path, default=PROJECT_ROOT, help="carpeta del proyecto")
    parser.add_argument(
        "--destino", type=Path,
        help="archivo de datos a completar (por defecto data/nlu/inbox/<fecha de hoy>.yml)",
    )
    args = parser.parse_args(argv)
    if not args.archivo.is_file():
        print(say("common.error", text=say("common.no_file", path=args.archivo)))
        return 2
    try:
        labelled, ignored = read_labelled(args.archivo)
    except (ValueError, KeyError, AttributeError, yaml.YAMLError) as error:
        print(say("common.error", text=say("merge.bad_file", path=args.archivo, error=error)))
        return 2
    except Exception as error:  # ruamel's YAML errors have no common public base
        print(say("common.error", text=say("merge.bad_file", path=args.archivo, error=error)))
        return 2
    project = load_project(args.proyecto)
    placeholders = load_config()["merge"]["placeholders"]
    result = check(project, labelled, placeholders)
    result.ignored = ignored
    for line in result.lines:
        print(line)
    print(say("merge.summary", merged=len(result.merged), already=len(result.already),
              refused=len(result.refused), ignored=ignored))
    if result.merged:
        target = args.destino or args.proyecto / MERGED_DIR / f"{date.today().isoformat()}.yml"
        write_merged(target, result.merged)
        print(say("merge.written", path=target))
    else:
        print(say("merge.nothing"))
    return 1 if result.refused else 0


if __name__ == "__main__":
    sys.exit(main())
