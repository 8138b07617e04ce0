import requests
from rasa_sdk.events import AllSlotsReset

from actions.clients.citizen_data import CitizenDataClient
from actions.clients.handoffs import HandoffsClient
from actions.data_deletion import ActionDeleteMyData


def _open_handoffs_of(city_services: str, operator_token: str, citizen_id: str) -> list:
    body = requests.get(f"{city_services}/handoffs", timeout=5,
                        headers={"Authorization": f"Bearer {operator_token}"}).json()
    return [item for item in body["handoffs"] if item["citizen_id"] == citizen_id]


async def test_the_citizens_city_records_are_erased_and_counted(
    city_services, operator_token, dispatcher, tracker_factory, domain
):
    sender = "5491144445555"
    HandoffsClient(city_services).request(sender, "consulta", "whatsapp", "mi dni es 30123456")
    action = ActionDeleteMyData(CitizenDataClient(city_services, operator_token))

    events = await action.run(dispatcher, tracker_factory(text="sí", intent="affirm", sender_id=sender), domain)

    assert events == [AllSlotsReset()]
    assert dispatcher.messages[0]["response"] == "utter_data_deleted"
    assert {k: dispatcher.messages[0][k] for k in ("appointments", "handoffs", "service_requests", "incidents")} \
        == {"appointments": 0, "handoffs": 1, "service_requests": 0, "incidents": 0}
    assert _open_handoffs_of(city_services, operator_token, sender) == []


async def test_a_wrong_operator_token_is_told_not_hidden(city_services, dispatcher, tracker_factory, domain):
    action = ActionDeleteMyData(CitizenDataClient(city_services, "not-the-token"))
    events = await action.run(dispatcher, tracker_factory(intent="affirm"), domain)
    assert events == [AllSlotsReset()]
    assert [m["response"] for m in dispatcher.messages] == ["utter_data_deletion_failed"]


async def test_city_services_down_is_told(dispatcher, tracker_factory, domain):
    client = CitizenDataClient("http://127.0.0.1:9", "token", timeout=(0.5, 0.5))
    await ActionDeleteMyData(client).run(dispatcher, tracker_factory(intent="affirm"), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_data_deletion_failed"]
