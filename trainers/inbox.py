"""Export the messages the assistant did not understand, for trainers to label.

Reads Rasa's SQL tracker store (the ``events`` table of SQLTrackerStore, SQLite or PostgreSQL)
for a date range and keeps the user messages that ended in nlu_fallback, had a low confidence,
were out_of_scope, or led to a human handoff. Messages are masked (trainers.masking),
de-duplicated, grouped by similarity and written to a YAML (or CSV) file with an empty
``intencion`` next to each one.

Usage: python -m trainers.inbox --desde 2026-11-22 --hasta 2026-11-22 [--salida inbox/x.yml]
"""
import argparse
import csv
import json
import logging
import os
import re
import secrets
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml

from trainers.masking import mask_sender, mask_text
from trainers.messages import say
from trainers.project import PROJECT_ROOT, load_config, normalize_text
from trainers.similarity import group_by_similarity

logger = logging.getLogger(__name__)

NLU_FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
HUMAN_HANDOFF = "human_handoff"
HANDOFF_SLOT = "handoff_requested"
REASON_FALLBACK = "nlu_fallback"
REASON_LOW_CONFIDENCE = "low_confidence"
REASON_OUT_OF_SCOPE = "out_of_scope"
REASON_HANDOFF = "handoff"
CSV_COLUMNS = (
    "grupo", "intencion", "texto", "veces", "personas", "predicha", "confianza", "motivo",
    "anterior",
)


@dataclass
class Failure:
    """One user message the assistant did not handle well."""

    text: str  # masked
    sender: str  # pseudonym
    timestamp: float
    predicted: Optional[str]
    confidence: Optional[float]
    reasons: Set[str]
    previous: Optional[str] = None  # masked previous user message, for handoffs


@dataclass
class Entry:
    """Identical (after masking and normalising) failures merged into one line to label."""

    text: str
    count: int = 0
    senders: Set[str] = field(default_factory=set)
    predicted: Counter = field(default_factory=Counter)
    confidences: List[float] = field(default_factory=list)
    reasons: Set[str] = field(default_factory=set)
    previous: Optional[str] = None

    def add(self, failure: Failure) -> None:
        self.count += 1
        self.senders.add(failure.sender)
        if failure.predicted:
            self.predicted[failure.predicted] += 1
        if failure.confidence is not None:
            self.confidences.append(failure.confidence)
        self.reasons |= failure.reasons
        self.previous = self.previous or failure.previous

    @property
    def top_prediction(self) -> Optional[str]:
        return self.predicted.most_common(1)[0][0] if self.predicted else None

    @property
    def mean_confidence(self) -> Optional[float]:
        if not self.confidences:
            return None
        return round(sum(self.confidences) / len(self.confidences), 2)


def store_url(store: Optional[str], root: Path = PROJECT_ROOT) -> str:
    """SQLAlchemy URL of the tracker store: a URL, a SQLite file path, or endpoints.yml's."""
    store = store or os.environ.get("TRACKER_STORE_URL")
    if store and "://" in store:
        return store
    if store:
        return f"sqlite:///{Path(store).resolve()}"
    endpoints = root / "endpoints.yml"
    if endpoints.is_file():
        from rasa.shared.utils.io import read_yaml

        config = (read_yaml(endpoints.read_text(encoding="utf-8")) or {}).get("tracker_store")
        if config and str(config.get("type", "")).lower() in SQL_TRACKER_STORES:
            return _endpoint_url(config, root)
    return f"sqlite:///{(root / 'rasa.db').resolve()}"


# Rasa's own type and the project's SQL store with forgetting (privacy/tracker_store.py).
SQL_TRACKER_STORES = ("sql", "privacy.tracker_store.forgettingsqltrackerstore")


def _endpoint_url(config: Dict[str, Any], root: Path) -> str:
    """The URL SQLTrackerStore builds from endpoints.yml's tracker_store section."""
    dialect = str(config.get("dialect", "sqlite"))
    db = str(config.get("db", "rasa.db"))
    host = config.get("url")
    if dialect == "sqlite":
        return f"sqlite:///{(root / db).resolve()}"
    if host and "://" in str(host):
        return str(host)
    port = config.get("port")
    url = sa.engine.URL.create(
        dialect, username=config.get("username"), password=config.get("password"),
        host=host, port=int(port) if port else None, database=db,
    )
    return url.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Optional[Path]:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix or ":memory:" in url:
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def day_bounds(since: date, until: date, timezone: str) -> tuple:
    """Unix timestamps of the start of ``since`` and the end of ``until`` in the time zone."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(since, time.min, tzinfo=zone).timestamp()
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone).timestamp()
    return start, end


def read_events(url: str, start: float, end: float) -> Iterator[Dict[str, Any]]:
    """The rows of SQLTrackerStore's ``events`` table in the range, by conversation and time."""
    engine = sa.create_engine(url)
    query = sa.text(
        "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events "
        "WHERE timestamp >= :start AND timestamp < :end "
        "AND type_name IN ('user', 'action', 'slot') "
        "ORDER BY sender_id, timestamp, id"
    )
    try:
        with engine.connect() as connection:
            for row in connection.execute(query, {"start": start, "end": end}):
                yield dict(row._mapping)
    finally:
        engine.dispose()


def _full_retrieval_intent(name: Optional[str], parse_data: Dict[str, Any]) -> Optional[str]:
    """``vtv/appointment`` when the ResponseSelector picked a question of intent ``vtv``."""
    intent = parse_data.get("intent") or {}
    if intent.get("full_retrieval_intent_name"):
        return intent["full_retrieval_intent_name"]
    selector = parse_data.get("response_selector") or {}
    for key in (name, "default"):
        response = (selector.get(key) or {}).get("response") or {}
        full = response.get("intent_response_key")
        if full and name and full.split("/", 1)[0] == name:
            return full
    return name


def _prediction(parse_data: Dict[str, Any]) -> tuple:
    """(name, confidence) of the intent, looking past nlu_fallback to what the model guessed.

    For retrieval intents the name includes the question the ResponseSelector chose.
    """
    intent = parse_data.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    if name == NLU_FALLBACK:
        for ranked in parse_data.get("intent_ranking") or []:
            if ranked.get("name") != NLU_FALLBACK:
                return ranked.get("name"), ranked.get("confidence")
        return None, None
    return _full_retrieval_intent(name, parse_data), confidence


def find_failures(
    rows: Sequence[Dict[str, Any]],
    low_confidence: float,
    handoff_action: str,
    export_intents: Sequence[str] = (OUT_OF_SCOPE, HUMAN_HANDOFF),
    key: Optional[bytes] = None,
) -> List[Failure]:
    """The user messages among the event rows that the assistant did not handle well."""
    key = key or secrets.token_bytes(16)
    handoff_re = re.compile(handoff_action)
    failures: List[Failure] = []
    last: Dict[str, Failure] = {}  # sender -> failure candidate of the latest user message
    previous_text: Dict[str, str] = {}
    for row in rows:
        sender = row["sender_id"]
        data = row["data"]
        if isinstance(data, str):
            data = json.loads(data)
        kind = row["type_name"]
        if kind == "user":
            text = (data.get("text") or "").strip()
            if not text or text.startswith("/"):  # buttons send "/intent{...}" payloads
                last.pop(sender, None)
                continue
            parse_data = data.get("parse_data") or {}
            raw_intent = (parse_data.get("intent") or {}).get("name")
            predicted, confidence = _prediction(parse_data)
            masked = mask_text(text, parse_data.get("entities"), sender_id=sender)
            failure = Failure(
                text=masked,
                sender=mask_sender(sender, key),
                timestamp=float(row["timestamp"]),
                predicted=predicted,
                confidence=round(float(confidence), 3) if confidence is not None else None,
                reasons=set(),
                previous=previous_text.get(sender),
            )
            if raw_intent == NLU_FALLBACK:
                failure.reasons.add(REASON_FALLBACK)
            elif raw_intent == HUMAN_HANDOFF:
                failure.reasons.add(REASON_HANDOFF)
            elif raw_intent == OUT_OF_SCOPE:
                failure.reasons.add(REASON_OUT_OF_SCOPE)
            elif raw_intent in export_intents:
                failure.reasons.add(str(raw_intent))
            elif confidence is not None and confidence < low_confidence:
                failure.reasons.add(REASON_LOW_CONFIDENCE)
            failures.append(failure)
            last[sender] = failure
            previous_text[sender] = masked
        elif sender in last and (
            (kind == "action" and row["action_name"] and handoff_re.search(row["action_name"]))
            or (kind == "slot" and data.get("name") == HANDOFF_SLOT and data.get("value"))
        ):
            last[sender].reasons.add(REASON_HANDOFF)
    return [f for f in failures if f.reasons]


def deduplicate(failures: Sequence[Failure]) -> List[Entry]:
    """One entry per distinct masked text, most frequent first."""
    entries: Dict[str, Entry] = {}
    for failure in failures:
        entry = entries.setdefault(normalize_text(failure.text), Entry(text=failure.text))
        entry.add(failure)
    return sorted(entries.values(), key=lambda e: (-e.count, -len(e.senders), e.text))


def build_inbox(
    entries: Sequence[Entry], threshold: float, since: date, until: date
) -> Dict[str, Any]:
    """The document trainers edit: groups of similar messages, each with an empty label."""
    groups = []
    for number, indices in enumerate(group_by_similarity([e.text for e in entries], threshold), 1):
        members = [entries[i] for i in indices]
        predicted = Counter()
        for member in members:
            predicted.update(member.predicted)
        groups.append(
            {
                "grupo": number,
                "intencion": "",
                "prediccion": predicted.most_common(1)[0][0] if predicted else None,
                "mensajes": [_message(m) for m in members],
            }
        )
    return {"desde": since.isoformat(), "hasta": until.isoformat(), "grupos": groups}


def _message(entry: Entry) -> Dict[str, Any]:
    message = {
        "texto": entry.text,
        "intencion": "",
        "veces": entry.count,
        "personas": len(entry.senders),
        "predicha": entry.top_prediction,
        "confianza": entry.mean_confidence,
        "motivo": ", ".join(say(f"inbox.reasons.{r}") for r in sorted(entry.reasons)),
    }
    if entry.previous and REASON_HANDOFF in entry.reasons:
        message["anterior"] = entry.previous
    return message


def write_inbox(document: Dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = say("inbox.header", since=document["desde"], until=document["hasta"])
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for group in document["grupos"]:
                for message in group["mensajes"]:
                    writer.writerow({"grupo": group["grupo"], **message})
        return
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
    commented = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    path.write_text(commented + "\n" + body, encoding="utf-8")


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(say("inbox.bad_date", value=value)) from error


def main(argv: Optional[List[str]] = None) -> int:
    settings = load_config()["inbox"]
    yesterday = datetime.now(ZoneInfo(settings["timezone"])).date() - timedelta(days=1)
    parser = argparse.ArgumentParser(
        prog="python -m trainers.inbox",
        description=(
            "Exporta los mensajes que el asistente no entendió (fallback, baja confianza, "
            "fuera de tema, derivados a una persona), enmascarados y agrupados, para etiquetar."
        ),
    )
    parser.add_argument("--desde", type=parse_day, default=None, help="AAAA-MM-DD (ayer si falta)")
    parser.add_argument("--hasta", type=parse_day, default=None, help="AAAA-MM-DD (= desde)")
    parser.add_argument(
        "--conversaciones",
        help="base de conversaciones: URL (postgresql://…, sqlite:///…) o archivo SQLite; "
        "si falta, TRACKER_STORE_URL o el tracker_store de endpoints.yml",
    )
    parser.add_argument(
        "--umbral", type=float, default=settings["low_confidence"],
        help="confianza por debajo de la cual un mensaje cuenta como no entendido",
    )
    parser.add_argument(
        "--similitud", type=float, default=settings["group_similarity"],
        help="similitud mínima (0 a 1) para agrupar mensajes parecidos",
    )
    parser.add_argument("--salida", type=Path, help="archivo .yml o .csv a escribir")
    parser.add_argument("--proyecto", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    since = args.desde or yesterday
    until = args.hasta or since
    if since > until:
        parser.error(say("inbox.bad_range", since=since, until=until))
    try:
        url = store_url(args.conversaciones, args.proyecto)
    except Exception as error:  # endpoints.yml unreadable, e.g. an unset ${VARIABLE}
        print(say("common.error", text=say("inbox.no_store", store="endpoints.yml",
                                             error=str(error).splitlines()[0])))
        return 2
    output = args.salida or args.proyecto / "inbox" / f"{since.isoformat()}_{until.isoformat()}.yml"
    print(say("inbox.reading", store=shown_url(url), since=since, until=until))
    start, end = day_bounds(since, until, settings["timezone"])
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None and not sqlite_file.is_file():
        # SQLite would create an empty file: say the conversations are not there instead.
        print(say("common.error", text=say("inbox.no_store", store=shown_url(url),
                                             error=say("common.no_file", path=sqlite_file))))
        return 2
    try:
        rows = list(read_events(url, start, end))
    except sa.exc.SQLAlchemyError as error:
        print(say("common.error", text=say("inbox.no_store", store=shown_url(url),
                                             error=str(error).splitlines()[0])))
        return 2
    failures = find_failures(
        rows, args.umbral, settings["handoff_action"], settings["export_intents"]
    )
    entries = deduplicate(failures)
    if not entries:
        print(say("inbox.nothing", since=since, until=until))
    document = build_inbox(entries, args.similitud, since, until)
    write_inbox(document, output)
    print(say("inbox.written", messages=len(entries), groups=len(document["grupos"]),
              path=output))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
