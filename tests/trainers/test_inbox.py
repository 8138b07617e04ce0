"""The inbox export, on tracker stores filled by real conversations through the REST channel."""
import asyncio
import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from tests.trainers.conftest import converse
from trainers import inbox as inbox_module
from trainers.inbox import day_bounds, store_url
from trainers.masking import DNI, EMAIL, PHONE, PLATE
from trainers.project import load_config, normalize_text

SETTINGS = load_config()["inbox"]
HANDOFF_TEXT = "quiero hablar con una persona"
NONSENSE = "zzzz qqqq xkcd"
CONVERSATIONS = {
    "5491123456789": [
        "hola",
        "mi dni es 30.123.456 y mi mail juan.perez@gmail.com",
        HANDOFF_TEXT,
    ],
    "5491198765432": [NONSENSE, "contame un chiste", "llamame al 5491198765432"],
    "5491155554444": [NONSENSE, "la patente es AB 123 CD"],
}
PERSONAL_DATA = ["30.123.456", "juan.perez@gmail.com", "5491123456789", "5491198765432",
                 "5491155554444", "AB 123 CD"]


def today_in_buenos_aires() -> str:
    return datetime.now(ZoneInfo(SETTINGS["timezone"])).date().isoformat()


def export(url: str, output: Path, *extra: str) -> dict:
    day = today_in_buenos_aires()
    code = inbox_module.main(["--desde", day, "--hasta", day, "--conversaciones", url,
                              "--salida", str(output), *extra])
    assert code == 0
    return yaml.safe_load(output.read_text(encoding="utf-8"))


def messages_of(document: dict) -> dict:
    return {m["texto"]: m for g in document["grupos"] for m in g["mensajes"]}


def expected_failures(store, threshold: float) -> set:
    """What the export must hold, worked out from Rasa's own trackers (not from SQL rows)."""
    from trainers.masking import mask_text

    expected = set()
    for sender in CONVERSATIONS:
        tracker = asyncio.run(store.retrieve_full_tracker(sender))
        events = list(tracker.events)
        for index, event in enumerate(events):
            if getattr(event, "type_name", "") != "user":
                continue
            parse = event.parse_data
            intent = parse["intent"]
            later = []
            for following in events[index + 1:]:
                if getattr(following, "type_name", "") == "user":
                    break
                later.append(getattr(following, "action_name", None) or "")
            if (
                intent["name"] in ("nlu_fallback", "out_of_scope", "human_handoff")
                or intent.get("confidence", 1.0) < threshold
                or any("handoff" in name or "request_human" in name for name in later)
            ):
                expected.add(normalize_text(mask_text(event.text, parse.get("entities"),
                                                      sender_id=sender)))
    return expected


def check_export(model: Path, store, url: str, tmp_path: Path) -> None:
    converse(model, store, CONVERSATIONS)

    everything = export(url, tmp_path / "todo.yml", "--umbral", "1.01")
    default = export(url, tmp_path / "inbox.yml")

    # With a threshold above 1 every message is exported once, masked, with its prediction.
    texts = messages_of(everything)
    raw = (tmp_path / "todo.yml").read_text(encoding="utf-8")
    for value in PERSONAL_DATA:
        assert value not in raw, f"{value!r} leaked into the inbox"
    sent = {text for texts_ in CONVERSATIONS.values() for text in texts_}
    assert len(texts) == len(sent)  # one line per distinct message
    assert texts[NONSENSE]["veces"] == 2 and texts[NONSENSE]["personas"] == 2
    assert f"mi dni es {DNI} y mi mail {EMAIL}" in texts
    assert f"llamame al {PHONE}" in texts
    assert f"la patente es {PLATE}" in texts
    for item in texts.values():
        assert item["intencion"] == "" and item["predicha"] and 0 < item["confianza"] <= 1

    # With the configured threshold, exactly the messages the assistant did not handle well.
    exported = {normalize_text(t) for t in messages_of(default)}
    assert exported == expected_failures(store, SETTINGS["low_confidence"])
    assert normalize_text(NONSENSE) in exported
    handoff = messages_of(default)[HANDOFF_TEXT]
    assert "derivado a una persona" in handoff["motivo"]
    assert handoff["anterior"] == f"mi dni es {DNI} y mi mail {EMAIL}"
    header = (tmp_path / "inbox.yml").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# Bandeja de entrada de Vecino")


@pytest.mark.model
def test_export_from_sqlite_tracker_store(trained_model, sqlite_store, tmp_path):
    store, url = sqlite_store
    check_export(trained_model, store, url, tmp_path)
    check_csv_and_range(url, tmp_path)


@pytest.mark.model
def test_export_from_postgresql_tracker_store(trained_model, postgres_store, tmp_path):
    store, url = postgres_store
    check_export(trained_model, store, url, tmp_path)


def check_csv_and_range(url: str, tmp_path: Path) -> None:
    day = today_in_buenos_aires()
    output = tmp_path / "inbox.csv"
    assert inbox_module.main(["--desde", day, "--conversaciones", url, "--salida", str(output),
                              "--umbral", "1.01"]) == 0
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "grupo,intencion,texto,veces,personas,predicha,confianza,motivo,anterior"
    assert any(line.startswith(f"1,,{NONSENSE},2,2,") for line in lines[1:]), lines
    old = tmp_path / "viejo.yml"
    assert inbox_module.main(["--desde", "2020-01-01", "--hasta", "2020-01-02",
                              "--conversaciones", url, "--salida", str(old)]) == 0
    assert yaml.safe_load(old.read_text(encoding="utf-8"))["grupos"] == []


def test_similar_messages_share_a_group():
    from trainers.inbox import Entry, build_inbox

    entries = [Entry(text=t, count=1) for t in (
        "como saco turno para la vtv", "cómo saco turno para la vtv??", "hay multas en mi auto",
        "como sacar turno vtv")]
    document = build_inbox(entries, SETTINGS["group_similarity"], date(2026, 11, 22),
                           date(2026, 11, 22))
    groups = [[m["texto"] for m in g["mensajes"]] for g in document["grupos"]]
    assert groups == [
        ["como saco turno para la vtv", "cómo saco turno para la vtv??", "como sacar turno vtv"],
        ["hay multas en mi auto"],
    ]


def test_dates_are_read_in_buenos_aires_time():
    start, end = day_bounds(date(2026, 11, 22), date(2026, 11, 22), SETTINGS["timezone"])
    assert datetime.utcfromtimestamp(start) == datetime(2026, 11, 22, 3, 0)
    assert end - start == 24 * 3600


def test_store_url_comes_from_endpoints(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    (tmp_path / "endpoints.yml").write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: db.local\n  port: 5433\n"
        "  db: vecino\n  username: rasa\n  password: secreto\n", encoding="utf-8")
    url = store_url(None, tmp_path)
    assert url == "postgresql://rasa:secreto@db.local:5433/vecino"
    assert "secreto" not in inbox_module.shown_url(url)
    assert store_url("var/tracker.db", tmp_path).startswith("sqlite:///")
    assert store_url("postgresql://x@h/db", tmp_path) == "postgresql://x@h/db"


def test_store_url_comes_from_the_forgetting_store_too(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    (tmp_path / "endpoints.yml").write_text(
        "tracker_store:\n  type: privacy.tracker_store.ForgettingSQLTrackerStore\n"
        "  dialect: sqlite\n  db: var/tracker.db\n", encoding="utf-8")
    assert store_url(None, tmp_path) == f"sqlite:///{(tmp_path / 'var/tracker.db').resolve()}"


def test_bad_dates_are_refused_in_spanish(capsys):
    with pytest.raises(SystemExit):
        inbox_module.main(["--desde", "22/11/2026"])
    assert "usá el formato AAAA-MM-DD" in capsys.readouterr().err


def test_a_missing_sqlite_file_is_reported_not_created(tmp_path, capsys):
    missing = tmp_path / "no_existe.db"
    assert inbox_module.main(["--conversaciones", str(missing), "--salida",
                              str(tmp_path / "x.yml")]) == 2
    assert "No encuentro el archivo" in capsys.readouterr().out
    assert not missing.exists()


def test_a_store_without_events_is_reported(tmp_path, capsys):
    empty = tmp_path / "vacia.db"
    sqlite3.connect(empty).close()
    assert inbox_module.main(["--conversaciones", str(empty), "--salida",
                              str(tmp_path / "x.yml")]) == 2
    assert "No puedo abrir la base de conversaciones" in capsys.readouterr().out
