"""What the connector sends to Rasa and asks from the domain exists in domain.yml."""
import json

import pytest
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from channels.whatsapp import WhatsAppConfig

ENV = {"WHATSAPP_PHONE_NUMBER_ID": "1", "WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_APP_SECRET": "s"}


@pytest.fixture(scope="module")
def config() -> WhatsAppConfig:
    return WhatsAppConfig.from_credentials({}, environ=ENV)


def test_intents_the_connector_emits_exist(project_domain, config) -> None:
    for intent in (config.location_intent, config.media_intent):
        assert intent in project_domain.intents, f"/{intent} is sent for pins and photos"


def test_location_payload_parses_against_the_domain(project_domain, config) -> None:
    declared = {"latitude", "longitude", "location_name", "location_address"} & set(project_domain.entities)
    entities = {name: -34.6 for name in declared}
    text = f"/{config.location_intent}{json.dumps(entities) if entities else ''}"
    parsed = YAMLStoryReader.unpack_regex_message(Message({TEXT: text}), project_domain)
    assert parsed.get(INTENT)["name"] == config.location_intent
    assert {e["entity"] for e in parsed.get(ENTITIES) or []} == declared


def test_unsupported_answer_is_a_domain_response(project_domain, config) -> None:
    variations = project_domain.responses.get(config.unsupported_response)
    assert variations and all(v.get("text") for v in variations)


def test_button_payloads_in_the_domain_parse(project_domain) -> None:
    """Every `/intent{...}` payload a response offers names a domain intent with valid JSON."""
    for name, variations in project_domain.responses.items():
        for variation in variations:
            for button in variation.get("buttons") or []:
                payload = button.get("payload") or ""
                if not payload.startswith("/"):
                    continue
                parsed = YAMLStoryReader.unpack_regex_message(Message({TEXT: payload}), project_domain)
                intent = (parsed.get(INTENT) or {}).get("name")
                assert intent in project_domain.intents, f"{name}: {payload!r} names no domain intent"
                body = payload[1 + len(intent):]
                if body.startswith("{"):
                    json.loads(body)


@pytest.mark.model
def test_the_life_safety_answers_of_a_paused_conversation_exist(model_agent) -> None:
    """Sent by the connector itself while an operator has the conversation (handoff.py): they
    must be in the trained domain (a retrieval answer comes from data/nlu, not domain.yml)."""
    from channels.whatsapp.handoff import LIFE_SAFETY_RESPONSES

    for intent, response in LIFE_SAFETY_RESPONSES.items():
        assert intent in model_agent.domain.intents or intent in model_agent.domain.retrieval_intents
        variations = model_agent.domain.responses.get(response)
        assert variations and all("911" in v.get("text", "") for v in variations), response
