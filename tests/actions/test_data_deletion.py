from rasa_sdk.events import AllSlotsReset

from actions.clients.citizen_data import CitizenDataClient
from actions.clients.handoffs import HandoffsClient
from actions.data_deletion import ActionDeleteMyData
from tests.fixtures.console import CONSOLE_TOKEN, queue_handoff


async def test_the_citizens_city_records_and_handoffs_are_erased_and_counted(
    city_services, console_service, operator_token, dispatcher, tracker_factory, domain
):
    sender = "5491144445555"
    queue_handoff(console_service, sender, "mi dni es 30123456")
    action = ActionDeleteMyData(CitizenDataClient(city_services, operator_token),
                                HandoffsClient(console_service.url, CONSOLE_TOKEN))

    events = await action.run(dispatcher, tracker_factory(text="sí", intent="affirm", sender_id=sender), domain)

    assert events == [AllSlotsReset()]
    assert dispatcher.messages[0]["response"] == "utter_data_deleted"
    assert {k: dispatcher.messages[0][k] for k in ("appointments", "handoffs", "service_requests", "incidents")} \
        == {"appointments": 0, "handoffs": 1, "service_requests": 0, "incidents": 0}
    assert console_service.handoffs_of(sender) == []


async def test_a_wrong_operator_token_is_told_not_hidden(
    city_services, console_service, dispatcher, tracker_factory, domain
):
    action = ActionDeleteMyData(CitizenDataClient(city_services, "not-the-token"),
                                HandoffsClient(console_service.url, CONSOLE_TOKEN))
    events = await action.run(dispatcher, tracker_factory(intent="affirm"), domain)
    assert events == [AllSlotsReset()]
    assert [m["response"] for m in dispatcher.messages] == ["utter_data_deletion_failed"]


async def test_city_services_down_is_told(console_service, dispatcher, tracker_factory, domain):
    client = CitizenDataClient("http://127.0.0.1:9", "token", timeout=(0.5, 0.5))
    handoffs = HandoffsClient(console_service.url, CONSOLE_TOKEN)
    await ActionDeleteMyData(client, handoffs).run(dispatcher, tracker_factory(intent="affirm"), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_data_deletion_failed"]


async def test_the_console_down_is_told(city_services, operator_token, dispatcher, tracker_factory, domain):
    handoffs = HandoffsClient("http://127.0.0.1:9", "token", timeout=(0.5, 0.5))
    action = ActionDeleteMyData(CitizenDataClient(city_services, operator_token), handoffs)
    assert await action.run(dispatcher, tracker_factory(intent="affirm"), domain) == [AllSlotsReset()]
    assert [m["response"] for m in dispatcher.messages] == ["utter_data_deletion_failed"]
