"""The fake Graph API itself: it must refuse what Graph refuses, or the other tests prove nothing."""
import time

import pytest
import requests

from channels.whatsapp.graph_api import ExpiredToken, error_from_response
from tests.fixtures.graph_api import FAKE_PHONE_NUMBER_ID, FAKE_TOKEN, FakeGraphApi


def post(api: FakeGraphApi, body, token: str = FAKE_TOKEN, phone: str = FAKE_PHONE_NUMBER_ID):
    return requests.post(
        f"{api.base_url}/v26.0/{phone}/messages",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


TEXT = {"messaging_product": "whatsapp", "to": "5491155550101", "type": "text", "text": {"body": "hola"}}


def test_accepts_a_valid_message_and_records_it(fake_graph_api: FakeGraphApi) -> None:
    response = post(fake_graph_api, TEXT)
    assert response.status_code == 200
    assert response.json()["messages"][0]["id"].startswith("wamid.")
    assert fake_graph_api.sent_messages() == [TEXT]


def test_wrong_token_gets_graphs_190(fake_graph_api: FakeGraphApi) -> None:
    response = post(fake_graph_api, TEXT, token="stolen")
    assert response.status_code == 401
    assert isinstance(error_from_response(401, response.json()), ExpiredToken)


@pytest.mark.parametrize(
    "body",
    [
        {**TEXT, "messaging_product": "sms"},
        {**TEXT, "text": {"body": "x" * 4097}},
        {**TEXT, "type": "interactive", "interactive": {"type": "button", "body": {"text": "b"}, "action": {"buttons": []}}},
        {"messaging_product": "whatsapp", "status": "read"},
    ],
)
def test_rejects_what_graph_rejects(fake_graph_api: FakeGraphApi, body) -> None:
    response = post(fake_graph_api, body)
    assert response.status_code == 400 and response.json()["error"]["code"] == 100
    assert fake_graph_api.violations


def test_unknown_phone_number_id_is_rejected(fake_graph_api: FakeGraphApi) -> None:
    assert post(fake_graph_api, TEXT, phone="999").status_code == 400


def test_fail_next_answers_with_real_error_shapes(fake_graph_api: FakeGraphApi) -> None:
    fake_graph_api.fail_next(400, 131047, details="more than 24 hours")
    error = post(fake_graph_api, TEXT).json()["error"]
    assert error["code"] == 131047 and error["error_data"]["details"] == "more than 24 hours"
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    assert post(fake_graph_api, TEXT).status_code == 200, "only the next request fails"


def test_sent_log_lists_accepted_sends_and_read_receipts_with_their_arrival_time(fake_graph_api: FakeGraphApi) -> None:
    before = time.monotonic()
    post(fake_graph_api, TEXT)
    post(fake_graph_api, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"})
    post(fake_graph_api, TEXT, token="stolen")
    after = time.monotonic()

    logs = requests.get(f"{fake_graph_api.base_url}/_fake/sent", params={"since": before}, timeout=5).json()
    log, read = logs["sent"], logs["read"]

    assert [(entry["to"], entry["type"]) for entry in log] == [("5491155550101", "text")]
    assert before <= log[0]["received_at"] <= after
    assert [entry["message_id"] for entry in read] == ["wamid.X"]
    assert log[0]["received_at"] <= read[0]["received_at"] <= after
    later = requests.get(f"{fake_graph_api.base_url}/_fake/sent", params={"since": after}, timeout=5)
    assert later.json() == {"sent": [], "read": []}
    bad = requests.get(f"{fake_graph_api.base_url}/_fake/sent", params={"since": "ayer"}, timeout=5)
    assert bad.status_code == 400
