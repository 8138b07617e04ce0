"""Read a Rasa project's domain and training data the way the trainers' tools need them.

Rasa's own importer merges everything into one TrainingData and silently resolves conflicts
(a synonym mapped to two values keeps the last one). The linter must see those conflicts, so
this module reads the YAML files itself, keeping the file each item came from, and only uses
Rasa's parser for entity annotations.
"""
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import yaml
from rasa.shared.nlu.training_data.entities_parser import (
    find_entities_in_training_example,
    replace_entities,
)
from rasa.shared.utils.io import read_yaml

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
YAML_SUFFIXES = (".yml", ".yaml")
UTTER_PREFIX = "utter_"
# Intents Rasa adds by itself; they need neither examples nor a topic.
RASA_DEFAULT_INTENTS = frozenset({"nlu_fallback", "restart", "back", "session_start"})
_UTTER_IN_CODE = re.compile(r"""response\s*=\s*["'](utter_[\w/]+)["']""")


def load_config() -> Dict[str, Any]:
    """The tunable numbers of trainers/config.yml."""
    return yaml.safe_load((PACKAGE_DIR / "config.yml").read_text(encoding="utf-8"))


def normalize_text(text: str) -> str:
    """Comparison key of an example: lower case, no accents, single spaces, no end punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    collapsed = re.sub(r"\s+", " ", without_accents).strip()
    return collapsed.strip(" .,;:!?¡¿")


def base_intent(intent: str) -> str:
    """``vtv/appointment`` -> ``vtv``; plain intents are returned unchanged."""
    return intent.split("/", 1)[0]


@dataclass(frozen=True)
class Example:
    intent: str
    text: str  # plain text, annotations removed
    raw: str  # as written, with entity annotations
    entities: Tuple[Dict[str, Any], ...]
    path: Path


@dataclass(frozen=True)
class Synonym:
    value: Any
    examples: Tuple[Any, ...]
    path: Path


@dataclass(frozen=True)
class Lookup:
    name: Any
    values: Tuple[Any, ...]
    path: Path


@dataclass
class Project:
    """Domain and training data of one Rasa project, as read from its files."""

    root: Path
    domain: Dict[str, Any] = field(default_factory=dict)
    examples: List[Example] = field(default_factory=list)
    synonyms: List[Synonym] = field(default_factory=list)
    lookups: List[Lookup] = field(default_factory=list)
    # response name -> (variations, file it was defined in)
    responses: Dict[str, Tuple[List[Any], Path]] = field(default_factory=dict)
    # utter_ name -> files naming it (domain actions, rules, stories, actions code)
    named_utterances: Dict[str, Set[str]] = field(default_factory=dict)
    # files that could not be read: (path, error)
    unreadable: List[Tuple[Path, str]] = field(default_factory=list)

    @property
    def domain_intents(self) -> List[str]:
        names = []
        for entry in self.domain.get("intents") or []:
            names.append(next(iter(entry)) if isinstance(entry, dict) else str(entry))
        return names

    @property
    def domain_entities(self) -> Dict[str, Dict[str, List[str]]]:
        """Entity name -> {"roles": [...], "groups": [...]}."""
        entities: Dict[str, Dict[str, List[str]]] = {}
        for entry in self.domain.get("entities") or []:
            if isinstance(entry, dict):
                name = next(iter(entry))
                spec = entry[name] or {}
                entities[name] = {
                    "roles": list(spec.get("roles") or []),
                    "groups": list(spec.get("groups") or []),
                }
            else:
                entities[str(entry)] = {"roles": [], "groups": []}
        return entities

    @property
    def retrieval_intents(self) -> Set[str]:
        """Full names of the retrieval intents found in the data, e.g. ``vtv/appointment``."""
        return {e.intent for e in self.examples if "/" in e.intent}

    def valid_labels(self) -> Set[str]:
        """Labels a trainer may give an example: plain domain intents and retrieval intents.

        A retrieval base intent (``vtv``) is not a valid label: the example must say which of its
        questions it asks (``vtv/appointment``).
        """
        retrieval = self.retrieval_intents
        retrieval_bases = {base_intent(name) for name in retrieval}
        domain = set(self.domain_intents)
        plain = {i for i in domain if i not in retrieval_bases}
        return plain | {r for r in retrieval if base_intent(r) in domain}

    def examples_by_text(self) -> Dict[str, Set[str]]:
        """Normalised example text -> intents it is written under."""
        index: Dict[str, Set[str]] = {}
        for example in self.examples:
            index.setdefault(normalize_text(example.text), set()).add(example.intent)
        return index


def yaml_files(directory: Path) -> List[Path]:
    if directory.is_file():
        return [directory]
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def parse_examples(block: Any) -> List[str]:
    """The examples of an ``examples:`` key, in either of Rasa's two YAML forms."""
    if isinstance(block, str):
        examples = []
        for line in (raw.strip() for raw in block.splitlines()):
            if line.startswith("- "):
                examples.append(line[2:].strip())
            elif line == "-":
                examples.append("")  # an empty example, reported by the linter
        return examples
    if isinstance(block, list):
        texts = []
        for item in block:
            texts.append(str(item.get("text", "")) if isinstance(item, dict) else str(item))
        return texts
    return []


def parse_example(raw: str, intent: str, path: Path) -> Example:
    return Example(
        intent=intent,
        text=replace_entities(raw),
        raw=raw,
        entities=tuple(find_entities_in_training_example(raw)),
        path=path,
    )


def _read(path: Path, project: Project) -> Optional[Dict[str, Any]]:
    try:
        content = read_yaml(path.read_text(encoding="utf-8"))
    except Exception as error:  # any YAML or encoding error makes the file unreadable
        project.unreadable.append((path, str(error).splitlines()[0] if str(error) else repr(error)))
        return None
    return content if isinstance(content, dict) else {}


def _add_responses(content: Dict[str, Any], path: Path, project: Project) -> None:
    for name, variations in (content.get("responses") or {}).items():
        project.responses[str(name)] = (list(variations or []), path)


def _name(project: Project, utterance: str, source: Path) -> None:
    try:
        shown = str(source.relative_to(project.root))
    except ValueError:
        shown = str(source)
    project.named_utterances.setdefault(utterance, set()).add(shown)


def _read_steps(steps: Iterable[Any], path: Path, project: Project) -> None:
    for step in steps or []:
        if not isinstance(step, dict):
            continue
        action = step.get("action")
        if isinstance(action, str) and action.startswith(UTTER_PREFIX):
            _name(project, action, path)
        for branch in step.get("or") or []:
            _read_steps([branch], path, project)


def _read_data_file(path: Path, project: Project) -> None:
    content = _read(path, project)
    if content is None:
        return
    for item in content.get("nlu") or []:
        if not isinstance(item, dict):
            continue
        if "intent" in item:
            intent = str(item["intent"])
            for raw in parse_examples(item.get("examples")):
                project.examples.append(parse_example(raw, intent, path))
        elif "synonym" in item:
            project.synonyms.append(
                Synonym(item["synonym"], tuple(parse_examples(item.get("examples"))), path)
            )
        elif "lookup" in item:
            project.lookups.append(
                Lookup(item["lookup"], tuple(parse_examples(item.get("examples"))), path)
            )
    _add_responses(content, path, project)
    for key in ("rules", "stories"):
        for flow in content.get(key) or []:
            if isinstance(flow, dict):
                _read_steps(flow.get("steps"), path, project)


def _merge_domain(content: Dict[str, Any], target: Dict[str, Any]) -> None:
    for key, value in content.items():
        if isinstance(value, list):
            target.setdefault(key, []).extend(value)
        elif isinstance(value, dict):
            target.setdefault(key, {}).update(value)
        else:
            target[key] = value


def load_project(
    root: Path = PROJECT_ROOT,
    domain_path: Optional[Path] = None,
    data_path: Optional[Path] = None,
    actions_path: Optional[Path] = None,
) -> Project:
    """Read ``domain.yml`` (file or folder), every YAML file under ``data/`` and ``actions/``."""
    root = Path(root)
    project = Project(root=root)
    domain_path = domain_path or root / "domain.yml"
    if not domain_path.exists() and (root / "domain").is_dir():
        domain_path = root / "domain"
    for path in yaml_files(domain_path):
        content = _read(path, project)
        if content is None:
            continue
        responses = content.pop("responses", None) or {}
        _merge_domain(content, project.domain)
        _add_responses({"responses": responses}, path, project)
        for action in content.get("actions") or []:
            name = next(iter(action)) if isinstance(action, dict) else str(action)
            if name.startswith(UTTER_PREFIX):
                _name(project, name, path)
    for path in yaml_files(data_path or root / "data"):
        _read_data_file(path, project)
    actions_dir = actions_path or root / "actions"
    if actions_dir.is_dir():
        for path in sorted(actions_dir.rglob("*.py")):
            for match in _UTTER_IN_CODE.finditer(path.read_text(encoding="utf-8")):
                _name(project, match.group(1), path)
    logger.debug("Read %d examples from %s", len(project.examples), root)
    return project
