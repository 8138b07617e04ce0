"""The project's REST channel: namespaced senders, no caller metadata, text cap, prod gate."""
from typing import List

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app

from channels.rest import RestChannelConfig, RestInput
from channels.rest.connector import MAX_TEXT_CHARS, load_messages

WEBHOOK = "/webhooks/rest/webhook"
WA_ID = "5491155550000"


class RecordingAgent:
    """Stands in for Rasa's Agent: records each UserMessage and answers "ok"."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "ok")


def _app(config: RestChannelConfig):
    app = configure_app([RestInput(config)], enable_api=False, port=5005)
    app.ctx.agent = RecordingAgent()
    return app


async def test_sender_is_namespaced_and_metadata_ignored():
    app = _app(RestChannelConfig())
    forged = {
        "sender": WA_ID, "message": "foto", "input_channel": "whatsapp",
        "metadata": {"whatsapp": {"media": {"path": "/etc/shadow"}}},
    }
    _, reply = await app.asgi_client.post(WEBHOOK, json=forged)
    assert reply.status_code == 200
    (message,) = app.ctx.agent.messages
    assert (message.sender_id, message.input_channel, message.metadata) == (f"rest:{WA_ID}", "rest", None)
    assert reply.json == [{"recipient_id": f"rest:{WA_ID}", "text": "ok"}]


async def test_a_text_over_whatsapps_limit_gets_the_polite_answer_without_a_turn():
    app = _app(RestChannelConfig())
    _, reply = await app.asgi_client.post(WEBHOOK, json={"sender": "a", "message": "x" * (MAX_TEXT_CHARS + 1)})
    assert reply.status_code == 200
    assert reply.json == [
        {"recipient_id": "rest:a", "text": load_messages()["text_too_long"].format(limit=MAX_TEXT_CHARS)}
    ]
    assert app.ctx.agent.messages == []
    _, reply = await app.asgi_client.post(WEBHOOK, json={"sender": "a", "message": "x" * MAX_TEXT_CHARS})
    assert len(app.ctx.agent.messages) == 1, "exactly 4,096 characters is still a message"


@pytest.mark.parametrize(
    "body",
    ["not json", "[1, 2]", '{"message": "hola"}', '{"sender": "", "message": "hola"}',
     '{"sender": {"a": 1}, "message": "hola"}', '{"sender": "a", "message": 3}', '{"sender": "a"}'],
)
async def test_malformed_bodies_get_400(body):
    app = _app(RestChannelConfig())
    _, reply = await app.asgi_client.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400, reply.text
    assert app.ctx.agent.messages == []


def test_off_in_production_unless_a_token_is_set():
    assert RestChannelConfig.from_env({"PROFILE": "prod"}) == RestChannelConfig(enabled=False)
    assert RestChannelConfig.from_env({"PROFILE": "prod", "REST_CHANNEL_TOKEN": "t"}) == RestChannelConfig(token="t")
    assert RestChannelConfig.from_env({}) == RestChannelConfig(enabled=True)


async def test_a_disabled_channel_answers_404():
    app = _app(RestChannelConfig(enabled=False))
    _, reply = await app.asgi_client.post(WEBHOOK, json={"sender": "a", "message": "hola"})
    assert reply.status_code == 404
    assert app.ctx.agent.messages == []


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic s3cret", "s3cret"])
async def test_with_a_token_the_bearer_header_is_required(header):
    app = _app(RestChannelConfig(token="s3cret"))
    headers = {"Authorization": header} if header else {}
    _, reply = await app.asgi_client.post(WEBHOOK, json={"sender": "a", "message": "hola"}, headers=headers)
    assert reply.status_code == 401
    assert app.ctx.agent.messages == []


async def test_with_the_right_bearer_token_the_turn_runs():
    app = _app(RestChannelConfig(token="s3cret"))
    _, reply = await app.asgi_client.post(
        WEBHOOK, json={"sender": "a", "message": "hola"}, headers={"Authorization": "Bearer s3cret"}
    )
    assert reply.status_code == 200 and len(app.ctx.agent.messages) == 1
