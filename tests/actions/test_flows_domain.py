"""The flows' Python and the flows section of domain.yml agree: every response an action
chooses exists, every form slot can be asked, every invalid answer can be explained, and
every button payload parses against the domain."""
import inspect
import json
import re
from pathlib import Path

import pytest

from actions import appointments, base, ecobici, emergencies, green_points, infractions
from actions import service_requests, weather_alerts
from actions.base import FlowFormValidation
from actions.infractions import STATUSES

FLOW_MODULES = (appointments, base, ecobici, emergencies, green_points, infractions, service_requests, weather_alerts)
# slots whose validation never rejects (yes/no answers, a photo, a kind that defaults to "otro")
NEVER_REJECTED = {"privacy_accepted", "appointment_confirmed", "cancel_confirmed", "request_photo",
                  "emergency_type", "people_at_risk"}
PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?$")


def literal_responses():
    for module in FLOW_MODULES:
        source = Path(inspect.getsourcefile(module)).read_text(encoding="utf-8")
        for name in re.findall(r'response="(utter_[a-z_]+)"', source):
            yield module.__name__, name
        for name in re.findall(r'dispatcher, "(utter_[a-z_]+)"\)', source):
            yield module.__name__, name


@pytest.mark.parametrize("module, response", sorted(set(literal_responses())))
def test_every_chosen_response_exists(domain, module, response):
    assert response in domain["responses"], f"{module} utters {response}, missing in domain.yml"


def test_dynamic_response_names_exist(domain):
    for status in STATUSES:
        assert f"utter_infraction_item_{status}" in domain["responses"]
    assert "utter_too_many_failures" in domain["responses"]
    assert "utter_infractions_all_settled" in domain["responses"]
    for kind in ("any", "hospital", "cesac"):
        assert f"utter_health_centres_nearest_{kind}" in domain["responses"]


def validators():
    for module in FLOW_MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FlowFormValidation) and not inspect.isabstract(cls) and cls.__module__ == module.__name__:
                yield cls


@pytest.mark.parametrize("cls", sorted(set(validators()), key=lambda c: c.__name__))
def test_each_form_slot_is_asked_and_explained(domain, cls):
    form = cls.name(cls.__new__(cls)).replace("validate_", "", 1)
    assert form in domain["forms"], f"{cls.__name__} validates a form missing in domain.yml"
    for slot in domain["forms"][form]["required_slots"]:
        askers = {f"utter_ask_{form}_{slot}", f"utter_ask_{slot}"}
        assert askers & set(domain["responses"]) or f"action_ask_{slot}" in domain["actions"], (
            f"nothing asks for {slot} in {form}"
        )
        assert hasattr(cls, f"validate_{slot}"), f"{cls.__name__} does not validate {slot}"
        if slot not in NEVER_REJECTED:
            assert f"utter_invalid_{slot}" in domain["responses"], f"no utter_invalid_{slot}"


def flow_payloads(domain):
    flows = flows_responses_text()
    return re.findall(r'^\s+payload: [\'"](.+)[\'"]$', flows, flags=re.M)


def test_button_payloads_parse_against_the_domain(domain):
    payloads = flow_payloads(domain)
    assert payloads, "the flows section has buttons"
    for payload in payloads:
        match = PAYLOAD.match(payload)
        assert match, f"{payload!r} is not /intent or /intent{{json}}"
        assert match["intent"] in domain["intents"], f"{payload}: unknown intent"
        if match["entities"]:
            entities = json.loads(match["entities"])
            assert set(entities) <= set(domain["entities"]), f"{payload}: unknown entity"


def test_retry_slot_values_are_the_retryable_actions(domain):
    values = set(domain["slots"]["retry_action"]["values"])
    assert values <= set(domain["actions"])
    for module in FLOW_MODULES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, base.FlowAction) and not inspect.isabstract(cls):
                if "offer_retry" in inspect.getsource(cls):
                    assert cls.name(cls.__new__(cls)) in values


def flows_responses_text():
    text = (Path(__file__).parents[2] / "domain.yml").read_text(encoding="utf-8")
    return text.split("responses:", 1)[1].split("  # --- flows ---", 1)[1].split("  # --- end flows ---", 1)[0]


def test_no_url_other_than_the_city_portal_root():
    text = flows_responses_text()
    assert "buenosaires.gob.ar" in text, "citizens are pointed to the official portal"
    assert not re.findall(r"buenosaires\.gob\.ar/\S+", text), "only the portal root, never a path under it"
    assert not re.findall(r"https?://", text), "no other URL: the certificate link comes from the backend"
