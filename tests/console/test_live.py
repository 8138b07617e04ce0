"""The live feed (Server-Sent Events) and the fragments the page refetches."""
import json
import time

from tests.console.conftest import add_operator


def next_change(lines, deadline_s=3.0):
    """The data of the next ``event: change`` among the stream's ``lines`` (comments skipped)."""
    deadline = time.monotonic() + deadline_s
    event = None
    for line in lines:
        if time.monotonic() > deadline:
            break
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "change":
            return json.loads(line[6:])
    raise AssertionError("no change event in time")


def test_a_new_handoff_reaches_the_operator_within_a_second(console):
    add_operator(console.store, "carla", areas=["reclamos"])
    carla = console.login("carla")
    with carla.session.get(console.url("/events"), stream=True, timeout=5) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["Content-Security-Policy"].startswith("default-src 'self'")
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == ": conectado"
        started = time.monotonic()
        other_area = console.handoff("5491100000100", topic="infractions")
        own = console.handoff("5491100000101", topic="service_requests")
        change = next_change(lines)
        assert time.monotonic() - started < 1.0
        assert change == {"handoff_id": own["id"], "kind": "created"}, "other areas' changes are not sent"
        assert other_area["id"] != own["id"]
        console.api("POST", "/api/handoffs/messages", {"citizen_id": "5491100000101", "message": {
            "at": "2026-12-02T15:00:00Z", "kind": "text", "text": "¿hay alguien?"}})
        assert next_change(lines) == {"handoff_id": own["id"], "kind": "message"}
    fragment = carla.get(f"/fragments/conversations/{own['id']}")
    assert fragment.status_code == 200 and "¿hay alguien?" in fragment.text and "<html" not in fragment.text
    queue = carla.get("/fragments/queue")
    assert 'data-citizen="5491100000101"' in queue.text and "5491100000100" not in queue.text


def test_the_stream_needs_a_session_and_ends_with_it(console):
    assert console.browser().get(console.url("/events"), timeout=5).status_code == 401
    add_operator(console.store, "alice", areas=["transito"])
    alice = console.login("alice")
    with alice.session.get(console.url("/events"), stream=True, timeout=5) as stream:
        time.sleep(0.1)
        alice.post("/logout")
        lines = list(stream.iter_lines(decode_unicode=True))  # ends at the next heartbeat check
    assert lines[0] == ": conectado"


def test_page_script_is_a_static_file(console):
    add_operator(console.store, "alice", areas=["transito"])
    page = console.login("alice").get("/").text
    assert '<script src="/static/console.js" defer></script>' in page
    script = console.browser().get(console.url("/static/console.js"), timeout=5)
    assert script.status_code == 200 and "EventSource" in script.text


def test_changes_made_through_another_console_process_arrive(console_factory):
    first, second = console_factory(), console_factory()  # two processes, one database
    add_operator(first.store, "alice", areas=["transito"])
    alice = first.login("alice")
    with alice.session.get(first.url("/events"), stream=True, timeout=5) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == ": conectado"
        handoff = second.handoff("5491100000200", topic="infractions")
        assert next_change(lines) == {"handoff_id": handoff["id"], "kind": "created"}
        other_tab = second.login("alice")
        assert other_tab.post(f"/conversations/{handoff['id']}/take").status_code == 303
        assert next_change(lines) == {"handoff_id": handoff["id"], "kind": "taken"}


def test_streams_are_capped_per_session_and_freed_on_close(console):
    """Found by a hostile review: a thousand streams of one session slowed every other request."""
    from contextlib import ExitStack

    from console.live import STREAMS_PER_SESSION

    add_operator(console.store, "dora", areas=["reclamos"])
    dora = console.login("dora")
    readers = []  # kept: a dropped reader closes its connection
    with ExitStack() as streams:
        for _ in range(STREAMS_PER_SESSION):
            stream = streams.enter_context(dora.session.get(console.url("/events"), stream=True, timeout=5))
            assert stream.status_code == 200
            readers.append(stream.iter_lines(decode_unicode=True))
            assert next(readers[-1]) == ": conectado"
        refused = dora.session.get(console.url("/events"), timeout=5)
        assert refused.status_code == 429 and "pestañas" in refused.text
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the server notices the closed streams at its next write
        console.handoff("5491100000199", topic="service_requests")
        with dora.session.get(console.url("/events"), stream=True, timeout=5) as again:
            if again.status_code == 200:
                return
            again.content
        time.sleep(0.3)
    raise AssertionError("closed streams were never freed")
