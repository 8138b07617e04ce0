"""What the console keeps of a citizen: read, erased on "borrar mis datos", purged after the limit
(SQLite and PostgreSQL), and the same through the console's API as the bot calls it."""
from datetime import timedelta

import pytest
import requests

from console import citizen_records
from console.clock import to_text
from console.media import delete_uploads
from tests.console.conftest import add_operator
from tests.console.test_store import any_store, request_for, say  # noqa: F401 (a fixture)
from tests.fixtures.console import CONSOLE_TOKEN, queue_handoff

CITIZEN, OTHER = "5491100000111", "5491100000222"


def test_erasure_deletes_the_citizens_handoffs_and_attachments_and_keeps_the_audit_anonymous(any_store, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    attachment = uploads / "respuesta.pdf"
    attachment.write_bytes(b"%PDF-1.4 plano")
    ana = add_operator(any_store, "ana", areas=["transito"])
    mine, _, _ = any_store.open_handoff(request_for(CITIZEN, history=[say("mi patente es AB123CD")]), "transito", 2, True)
    any_store.take(mine.id, ana.viewer)
    any_store.record_reply(mine.id, ana.viewer, "document", "te mando el plano", str(attachment), "application/pdf",
                           "wamid.R", "respuesta.pdf")
    any_store.end(mine.id, ana.viewer, "closed")
    again, _, _ = any_store.open_handoff(request_for(CITIZEN, history=[say("hola otra vez")]), "transito", 2, True)
    theirs, _, _ = any_store.open_handoff(request_for(OTHER, history=[say("hola")]), "transito", 2, True)

    assert [h["id"] for h in citizen_records.handoffs_of(any_store.database, CITIZEN)] == [mine.id, again.id]
    count, attachments = any_store.forget_citizen(CITIZEN)
    assert count == 2
    delete_uploads(uploads, attachments)

    assert citizen_records.handoffs_of(any_store.database, CITIZEN) == []
    assert not attachment.exists()
    assert [h["id"] for h in citizen_records.handoffs_of(any_store.database, OTHER)] == [theirs.id]
    with any_store.database.transaction() as cur:
        rows = cur.execute("SELECT action, operator_id, handoff_id, detail FROM audit WHERE action IN"
                           " ('take', 'reply', 'close')").fetchall()
        assert [(r["action"], r["operator_id"], r["handoff_id"], r["detail"]) for r in rows] == [
            ("take", ana.id, None, None), ("reply", ana.id, None, None), ("close", ana.id, None, None)], \
        "who did what and when stays; which conversation, and its details, go"
        texts = [r["text"] for r in cur.execute("SELECT text FROM messages").fetchall()]
    assert "mi patente es AB123CD" not in texts and "te mando el plano" not in texts
    # the open pages drop the erased conversations
    erased = [c for c in any_store.changes_after(0) if c["kind"] == "forgotten"]
    assert {c["handoff_id"] for c in erased} == {mine.id, again.id}


def test_the_purge_deletes_only_conversations_that_ended_before_the_limit(any_store, clock, tmp_path):
    boss = add_operator(any_store, "boss", role="supervisor")
    ended, _, _ = any_store.open_handoff(request_for(CITIZEN), "transito", 2, True)
    any_store.end(ended.id, boss.viewer, "returned")
    still_open, _, _ = any_store.open_handoff(request_for(OTHER), "transito", 2, True)
    clock.advance(days=91)
    recent, _, _ = any_store.open_handoff(request_for(CITIZEN), "transito", 2, True)
    any_store.end(recent.id, boss.viewer, "closed")

    before = to_text(clock() - timedelta(days=90))
    assert any_store.purge(before)[0] == 1
    assert [h["id"] for h in citizen_records.handoffs_of(any_store.database, CITIZEN)] == [recent.id]
    assert [h["id"] for h in citizen_records.handoffs_of(any_store.database, OTHER)] == [still_open.id], \
        "an open conversation waits for someone to answer it, whatever its age"


def test_the_api_reads_and_erases_a_citizen(console_service):
    citizen = "5491100000333"
    queue_handoff(console_service, citizen, "quiero hablar con alguien")
    (handoff,) = console_service.handoffs_of(citizen)
    assert (handoff["reason"], handoff["status"]) == ("citizen_request", "queued")
    assert [m["text"] for m in handoff["messages"]] == ["quiero hablar con alguien"]
    assert console_service.api("POST", "/api/citizens/erase", {"citizen_id": citizen}) == {"handoffs": 1}
    assert console_service.handoffs_of(citizen) == []


@pytest.mark.parametrize("body", [{}, {"older_than_days": -1}, {"older_than_days": "90"}, {"older_than_days": True}])
def test_the_purge_api_refuses_a_bad_limit_in_spanish(console_service, body):
    reply = requests.post(f"{console_service.url}/api/retention/purge", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {CONSOLE_TOKEN}"})
    assert reply.status_code == 400 and reply.json()["message"]


def test_the_read_api_refuses_a_missing_citizen(console_service):
    reply = requests.get(f"{console_service.url}/api/handoffs", timeout=10,
                         headers={"Authorization": f"Bearer {CONSOLE_TOKEN}"})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"
