import pytest

from actions.clients.errors import InvalidRequest
from actions.clients.handoffs import Handoff, HandoffsClient


@pytest.fixture
def client(base_url):
    return HandoffsClient(base_url)


def test_request_enters_the_operators_queue(client, operator):
    handoff = client.request("5491100000009", "emergency", "whatsapp", "Árbol caído, DC-000001")
    assert isinstance(handoff, Handoff) and handoff.status == "open"
    queue = operator("GET", "/handoffs")["handoffs"]
    assert handoff.id in [item["id"] for item in queue]
    operator("POST", f"/handoffs/{handoff.id}/status", {"status": "taken"})
    assert handoff.id not in [item["id"] for item in operator("GET", "/handoffs")["handoffs"]]


def test_request_needs_a_reason(client):
    with pytest.raises(InvalidRequest):
        client.request("5491100000009", "", "whatsapp", "")
