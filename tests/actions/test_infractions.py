"""Infractions flow against the reference backend (tests/fixtures/city_services.py)."""
from decimal import Decimal

import pytest
from rasa_sdk.events import SlotSet

from actions.base import FAILURES_SLOT, RETRY_SLOT
from actions.parsing import format_amount
from actions.clients.infractions import InfractionsClient
from actions.infractions import ActionLookUpInfractions, ValidateInfractionsForm
from tests.actions.flow_support import (
    closed_port_url,
    message_of,
    response_names,
    resets,
    slot_events,
    user_event,
)

SUBJECT, GOAL, LAST, PRIVACY = (
    "infractions_subject",
    "infractions_goal",
    "infractions_last_subject",
    "privacy_accepted",
)


@pytest.fixture
def client(city_services):
    return InfractionsClient(city_services)


@pytest.fixture
def validator():
    return ValidateInfractionsForm()


def lookup_tracker(tracker_factory, subject, goal="lookup", privacy=True, last=None):
    return tracker_factory(
        slots={PRIVACY: privacy, SUBJECT: subject, GOAL: goal, LAST: last, "requested_slot": None}
    )


# --- validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, normalized",
    [("ab 123 cd", "AB123CD"), ("abc-123", "ABC123"), ("30.123.456", "30123456"), ("123 abc", "123ABC")],
)
async def test_subject_is_normalized(validator, dispatcher, tracker_factory, domain, typed, normalized):
    result = await validator.validate_infractions_subject(typed, dispatcher, tracker_factory(text=typed), domain)
    assert result == {SUBJECT: normalized, FAILURES_SLOT: None}
    assert response_names(dispatcher) == []


async def test_invalid_subject_says_what_is_expected_and_asks_again(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_infractions_subject("ab 12", dispatcher, tracker_factory(text="ab 12"), domain)
    assert result == {SUBJECT: None, FAILURES_SLOT: "infractions_subject:1"}
    assert response_names(dispatcher) == ["utter_invalid_infractions_subject"]


async def test_third_invalid_subject_ends_the_form_with_menu_or_person(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(text="no sé", slots={FAILURES_SLOT: "infractions_subject:2"})
    result = await validator.validate_infractions_subject("no sé", dispatcher, tracker, domain)
    assert result == {SUBJECT: None, FAILURES_SLOT: None, "requested_slot": None}
    assert response_names(dispatcher) == ["utter_invalid_infractions_subject", "utter_too_many_failures"]
    buttons = [b["payload"] for b in domain["responses"]["utter_too_many_failures"][0]["buttons"]]
    assert buttons == ["/help", "/human_handoff"]


async def test_failures_of_another_question_do_not_count(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(text="x", slots={FAILURES_SLOT: "dni:2"})
    result = await validator.validate_infractions_subject("x", dispatcher, tracker, domain)
    assert result[FAILURES_SLOT] == "infractions_subject:1"


async def test_privacy_declined_ends_the_form(validator, dispatcher, tracker_factory, domain):
    result = await validator.validate_privacy_accepted(False, dispatcher, tracker_factory(intent="deny"), domain)
    assert result == {PRIVACY: None, "requested_slot": None}
    assert response_names(dispatcher) == ["utter_privacy_declined"]


async def test_full_validation_run_normalizes_the_typed_plate(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(
        text="ab 123 cd",
        intent="inform",
        slots={PRIVACY: True, "requested_slot": SUBJECT},
        active_loop="infractions_form",
        events=[user_event("ab 123 cd", "inform"), *slot_events(infractions_subject="ab 123 cd")],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert events == [SlotSet(SUBJECT, "AB123CD"), SlotSet(FAILURES_SLOT, None)]


async def test_certificate_right_after_a_lookup_reuses_the_subject(validator, dispatcher, tracker_factory, domain):
    tracker = tracker_factory(
        intent="infractions_certificate",
        slots={PRIVACY: True, GOAL: "certificate", LAST: "AE789HJ", SUBJECT: None},
        active_loop="infractions_form",
        events=[user_event("quiero el libre deuda", "infractions_certificate")],
    )
    events = await validator.run(dispatcher, tracker, domain)
    assert SlotSet(SUBJECT, "AE789HJ") in events


# --- lookup and certificate against the backend ---------------------------------


async def test_lists_each_fine_with_total_and_how_to_pay(client, dispatcher, tracker_factory, domain):
    fines = client.find(plate="AB123CD")
    assert 0 < len(fines) <= 5, "seed: AB123CD has a few fines"
    events = await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "AB123CD"), domain)
    expected = [f"utter_infraction_item_{f.status}" for f in sorted(fines, key=lambda f: f.date)]
    expected += ["utter_infractions_total", "utter_infractions_how_to_pay"]
    assert response_names(dispatcher) == expected
    total = message_of(dispatcher, "utter_infractions_total")
    pending = [f for f in fines if f.status == "pending"]
    assert total["pending_count"] == len(pending) and total["count"] == len(fines)
    assert total["total"] == format_amount(sum((f.amount for f in pending), Decimal(0)))
    assert events == [SlotSet(LAST, "AB123CD"), *resets(SUBJECT, GOAL, RETRY_SLOT, PRIVACY)]


async def test_by_dni(client, dispatcher, tracker_factory, domain):
    fines = client.find(dni="30123456")
    await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "30123456"), domain)
    names = response_names(dispatcher)
    if len(fines) > 5:
        assert names[0] == "utter_infractions_summary"
    else:
        assert names.count("utter_infractions_total") + names.count("utter_infractions_all_settled") == 1
        assert len([n for n in names if n.startswith("utter_infraction_item_")]) == len(fines)


async def test_more_than_five_fines_are_summarised(client, dispatcher, tracker_factory, domain):
    fines = client.find(plate="AC456FG")
    assert len(fines) > 5, "seed: AC456FG has many fines"
    await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "AC456FG"), domain)
    assert response_names(dispatcher) == ["utter_infractions_summary", "utter_infractions_how_to_pay"]
    summary = message_of(dispatcher, "utter_infractions_summary")
    assert summary["count"] == len(fines)
    assert summary["pending_count"] == len([f for f in fines if f.status == "pending"])


async def test_clean_record_says_so_and_offers_the_certificate(client, dispatcher, tracker_factory, domain):
    assert client.find(plate="AE789HJ") == []
    await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "AE789HJ"), domain)
    assert response_names(dispatcher) == ["utter_no_infractions", "utter_offer_certificate"]
    payloads = [b["payload"] for b in domain["responses"]["utter_offer_certificate"][0]["buttons"]]
    assert payloads == ["/infractions_certificate"]


async def test_only_paid_fines_offer_the_certificate(client, dispatcher, tracker_factory, domain):
    fines = client.find(plate="ABC123")
    assert fines and all(f.status != "pending" for f in fines)
    await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "ABC123"), domain)
    assert response_names(dispatcher)[-2:] == ["utter_infractions_all_settled", "utter_offer_certificate"]


async def test_certificate_is_issued_as_a_document(client, dispatcher, tracker_factory, domain, city_services):
    tracker = lookup_tracker(tracker_factory, "AE789HJ", goal="certificate")
    events = await ActionLookUpInfractions(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_certificate_issued"]
    message = message_of(dispatcher, "utter_certificate_issued")
    assert message["certificate_link"].startswith(city_services)
    assert message["certificate_filename"] == f"libre-deuda-{message['certificate_code']}.pdf"
    assert client.verify_certificate(message["certificate_code"]).code == message["certificate_code"]
    assert events == [SlotSet(LAST, "AE789HJ"), *resets(SUBJECT, GOAL, RETRY_SLOT, PRIVACY)]
    template = domain["responses"]["utter_certificate_issued"][0]
    assert "{certificate_link}" in template["text"], "REST shows the link"
    assert template["custom"]["document"] == {
        "link": "{certificate_link}",
        "filename": "{certificate_filename}",
        "caption": template["custom"]["document"]["caption"],
    }, "WhatsApp sends it as a document"


async def test_certificate_refused_with_pending_debt(client, dispatcher, tracker_factory, domain):
    tracker = lookup_tracker(tracker_factory, "AB123CD", goal="certificate")
    events = await ActionLookUpInfractions(client).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_certificate_debt_pending"]
    assert events == [SlotSet(LAST, "AB123CD"), *resets(SUBJECT, GOAL, RETRY_SLOT, PRIVACY)]


async def test_aborted_form_only_cleans_up(client, dispatcher, tracker_factory, domain):
    tracker = lookup_tracker(tracker_factory, None, privacy=True)
    events = await ActionLookUpInfractions(client).run(dispatcher, tracker, domain)
    assert events == resets(SUBJECT, GOAL, PRIVACY)
    assert response_names(dispatcher) == []


async def test_backend_down_keeps_the_plate_and_offers_retry(dispatcher, tracker_factory, domain):
    action = ActionLookUpInfractions(InfractionsClient(closed_port_url(), timeout=(0.5, 1)))
    events = await action.run(dispatcher, lookup_tracker(tracker_factory, "AB123CD"), domain)
    assert events == [SlotSet(RETRY_SLOT, "action_look_up_infractions")], "no slot is reset"
    assert response_names(dispatcher) == ["utter_service_unavailable"]
    assert [b["payload"] for b in domain["responses"]["utter_service_unavailable"][0]["buttons"]][0] == "/affirm"


async def test_consent_is_per_lookup(client, dispatcher, tracker_factory, domain, validator):
    """After a lookup the privacy notice is shown again for the next one; only the
    certificate offered right after it reuses that consent (and that subject)."""
    events = await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "AB123CD"), domain)
    assert SlotSet(PRIVACY, None) in events
    follow_up = tracker_factory(
        intent="infractions_certificate",
        slots={PRIVACY: None, GOAL: "certificate", LAST: "AB123CD", SUBJECT: None},
        active_loop="infractions_form",
        events=[user_event("quiero el libre deuda", "infractions_certificate")],
    )
    extracted = await validator.run(dispatcher, follow_up, domain)
    assert SlotSet(SUBJECT, "AB123CD") in extracted and SlotSet(PRIVACY, True) in extracted
    fresh = tracker_factory(
        intent="infractions", slots={PRIVACY: None, GOAL: "lookup", LAST: "AB123CD", SUBJECT: None},
        active_loop="infractions_form",
        events=[user_event("tengo multas?", "infractions")],
    )
    assert SlotSet(PRIVACY, True) not in await validator.run(dispatcher, fresh, domain)


async def test_a_citizen_over_the_lookup_limit_is_told_and_nothing_is_looked_up(
    client, dispatcher, tracker_factory, domain, rate_limiter
):
    from actions.rate_limits import LOOKUP, Limit

    rate_limiter.limits[LOOKUP] = Limit(LOOKUP, 1, 3600)
    first = await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "AB123CD"), domain)
    assert SlotSet(LAST, "AB123CD") in first
    dispatcher.messages.clear()
    second = await ActionLookUpInfractions(client).run(dispatcher, lookup_tracker(tracker_factory, "AB123CD"), domain)
    assert response_names(dispatcher) == ["utter_rate_limited_lookup"]
    assert second == resets(SUBJECT, GOAL, RETRY_SLOT, PRIVACY), "the plate is forgotten"
