"""parse_notification: every entry, change, message and status, into frozen dataclasses."""
import dataclasses

import pytest

from channels.whatsapp.payloads import (
    InboundMessage,
    MessageType,
    PayloadError,
    StatusKind,
    StatusUpdate,
    message_from_record,
    message_record,
    parse_notification,
)
from tests.channels.whatsapp.helpers import PAYLOAD_NAMES, first_message, load_payload

# fixture file -> the message type (or status) it must parse to
EXPECTED_TYPE = {
    "text": MessageType.TEXT,
    "image": MessageType.IMAGE,
    "image_no_caption": MessageType.IMAGE,
    "audio": MessageType.AUDIO,
    "video": MessageType.VIDEO,
    "document": MessageType.DOCUMENT,
    "sticker": MessageType.STICKER,
    "location": MessageType.LOCATION,
    "location_pin": MessageType.LOCATION,
    "contacts": MessageType.CONTACTS,
    "interactive_button_reply": MessageType.INTERACTIVE,
    "interactive_list_reply": MessageType.INTERACTIVE,
    "button": MessageType.BUTTON,
    "reaction": MessageType.REACTION,
    "unsupported": MessageType.UNSUPPORTED,
}
EXPECTED_STATUS = {
    "status_sent": StatusKind.SENT,
    "status_delivered": StatusKind.DELIVERED,
    "status_read": StatusKind.READ,
    "status_failed": StatusKind.FAILED,
}


def test_every_fixture_is_covered_and_names_its_source() -> None:
    assert set(PAYLOAD_NAMES) == set(EXPECTED_TYPE) | set(EXPECTED_STATUS) | {"multi_entry"}
    for name in PAYLOAD_NAMES:
        source = load_payload(name)["_source"]
        assert source.startswith("https://developers.facebook.com/"), f"{name}.json: {source}"


@pytest.mark.parametrize("name", sorted(EXPECTED_TYPE))
def test_message_fixtures(name: str) -> None:
    payload = load_payload(name)
    raw = first_message(payload)
    notification = parse_notification(payload)
    assert len(notification.messages) == 1 and notification.statuses == ()
    message = notification.messages[0]
    assert message.type is EXPECTED_TYPE[name]
    assert message.id == raw["id"] and message.sender == raw["from"]
    assert message.timestamp == int(raw["timestamp"])
    contact = payload["entry"][0]["changes"][0]["value"]["contacts"][0]
    assert message.profile_name == contact["profile"]["name"]
    assert message.phone_number_id == "106540352242922"
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.text = "changed"  # type: ignore[misc]


def test_text_and_media_details() -> None:
    assert parse_notification(load_payload("text")).messages[0].text == first_message(
        load_payload("text")
    )["text"]["body"]
    image = parse_notification(load_payload("image")).messages[0]
    raw = first_message(load_payload("image"))["image"]
    assert (image.media.id, image.media.mime_type, image.media.caption) == (
        raw["id"],
        raw["mime_type"],
        raw["caption"],
    )
    assert image.text == raw["caption"]
    assert parse_notification(load_payload("image_no_caption")).messages[0].text is None
    assert parse_notification(load_payload("audio")).messages[0].media.voice is True


def test_location_details() -> None:
    raw = first_message(load_payload("location"))["location"]
    location = parse_notification(load_payload("location")).messages[0].location
    assert location.as_metadata() == {
        "latitude": raw["latitude"],
        "longitude": raw["longitude"],
        "name": raw["name"],
        "address": raw["address"],
    }
    pin = parse_notification(load_payload("location_pin")).messages[0].location
    assert pin.name is None and pin.address is None and pin.latitude < 0


@pytest.mark.parametrize("name, kind", [("interactive_button_reply", "button_reply"), ("interactive_list_reply", "list_reply")])
def test_interactive_replies(name: str, kind: str) -> None:
    raw = first_message(load_payload(name))
    message = parse_notification(load_payload(name)).messages[0]
    assert message.reply.kind == kind
    assert message.reply.id == raw["interactive"][kind]["id"]
    assert message.context_id == raw["context"]["id"]


def test_template_button_and_reaction() -> None:
    button = parse_notification(load_payload("button")).messages[0].button
    assert button.payload == first_message(load_payload("button"))["button"]["payload"]
    reaction = parse_notification(load_payload("reaction")).messages[0].reaction
    assert reaction.emoji == first_message(load_payload("reaction"))["reaction"]["emoji"]


def test_unsupported_carries_its_error() -> None:
    message = parse_notification(load_payload("unsupported")).messages[0]
    assert [e.code for e in message.errors] == [131051]


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_status_fixtures(name: str) -> None:
    payload = load_payload(name)
    raw = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    notification = parse_notification(payload)
    assert notification.messages == ()
    (status,) = notification.statuses
    assert isinstance(status, StatusUpdate)
    assert status.status is EXPECTED_STATUS[name]
    assert (status.id, status.recipient_id) == (raw["id"], raw["recipient_id"])
    if name == "status_failed":
        assert [e.code for e in status.errors] == [131047]
        assert status.errors[0].details == raw["errors"][0]["error_data"]["details"]
    else:
        assert status.errors == () and status.pricing_category == "service"


def test_multi_entry_delivery_walks_every_entry_and_change() -> None:
    payload = load_payload("multi_entry")
    notification = parse_notification(payload)
    raw_ids = [
        m["id"]
        for entry in payload["entry"]
        for change in entry["changes"]
        for m in change["value"].get("messages", [])
    ]
    raw_statuses = [
        s["id"] + s["status"]
        for entry in payload["entry"]
        for change in entry["changes"]
        for s in change["value"].get("statuses", [])
    ]
    assert [m.id for m in notification.messages] == raw_ids and len(raw_ids) == 3
    assert [s.id + s.raw_status for s in notification.statuses] == raw_statuses
    assert len(raw_statuses) == 2
    names = {m.sender: m.profile_name for m in notification.messages}
    assert names == {"5491155550101": "Lucía Fernández", "5491155550202": "Jorge Pérez"}


def test_a_malformed_message_does_not_hide_its_siblings() -> None:
    payload = load_payload("multi_entry")
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    notification = parse_notification(payload)
    assert len(notification.messages) == 2


@pytest.mark.parametrize("body", [None, [], "text", {"object": "page"}, {"entry": "x"}])
def test_foreign_bodies_are_rejected(body) -> None:
    with pytest.raises(PayloadError):
        parse_notification(body)


def test_unknown_types_map_to_unknown() -> None:
    assert MessageType("poll_creation") is MessageType.UNKNOWN
    payload = load_payload("text")
    first_message(payload)["type"] = "some_future_type"
    assert parse_notification(payload).messages[0].type is MessageType.UNKNOWN


def test_repr_masks_phone_numbers() -> None:
    message = parse_notification(load_payload("text")).messages[0]
    assert message.sender not in repr(message) and message.text not in repr(message)


def test_record_round_trip() -> None:
    message: InboundMessage = parse_notification(load_payload("location")).messages[0]
    assert message_from_record(message_record(message)) == message


# ---- hostile shapes: each bad item is skipped, counted, and its siblings kept ------------

def _value(payload):
    return payload["entry"][0]["changes"][0]["value"]


@pytest.mark.parametrize(
    "bad_message",
    [
        "x",
        1,
        None,
        ["nested"],
        {"from": "5491155550101", "id": "wamid.BAD1", "type": "text", "text": "hi"},
        {"from": "5491155550101", "id": "wamid.BAD2", "type": "text", "text": {"body": {"a": 1}}},
        {"from": "5491155550101", "id": "wamid.BAD3", "type": "location", "location": "here"},
        {"from": "5491155550101", "id": "wamid.BAD4", "type": "interactive", "interactive": "tap"},
        {"from": "5491155550101", "id": "wamid.BAD5", "type": "button", "button": ["b"]},
        {"from": "5491155550101", "id": "wamid.BAD6", "type": "reaction", "reaction": 7},
        {"from": "5491155550101", "id": "wamid.BAD7", "type": "text", "text": {"body": "x"}, "context": "c"},
        {"from": "5491155550101", "id": "wamid.BAD8", "type": "text", "text": {"body": "x"}, "errors": "e"},
        {"from": "5491155550101", "id": "wamid.BAD9", "type": "text", "text": {"body": "x"}, "timestamp": [1]},
        {"from": ["5491155550101"], "id": "wamid.BAD10", "type": "text", "text": {"body": "x"}},
        {"from": "5491155550101", "id": {"x": 1}, "type": "text", "text": {"body": "x"}},
        {"from": "5491155550101", "id": "wamid.BAD11", "type": ["text"], "text": {"body": "x"}},
        {"from": "5491155550101", "id": "wamid.BAD12", "type": "image", "image": {"id": None}},
        {"from": "5491155550101", "id": "wamid.BAD13", "type": "location",
         "location": {"latitude": "NaN", "longitude": 1}},
    ],
)
def test_a_malformed_message_is_skipped_and_counted_keeping_its_siblings(bad_message) -> None:
    payload = load_payload("multi_entry")
    _value(payload)["messages"].insert(1, bad_message)
    notification = parse_notification(payload)
    assert len(notification.messages) == 3, "the three valid messages of the delivery"
    assert notification.skipped == 1


@pytest.mark.parametrize(
    "bad_value",
    [
        {"value": "x"},
        {"value": {"metadata": "m", "messages": [{"from": "1", "id": "w", "type": "text", "text": {"body": "x"}}]}},
        {"value": {"contacts": "c", "messages": []}},
        {"value": {"contacts": [{"wa_id": "1", "profile": "p"}]}},
        {"value": {"messages": "m"}},
        {"value": {"messages": {"a": 1}}},
        {"value": {"statuses": 5}},
        {"value": {"errors": [{"code": "x"}]}},
        {"value": {"errors": {"code": 1}}},
        "change",
        [],
    ],
)
def test_a_malformed_change_never_raises_and_keeps_the_other_entries(bad_value) -> None:
    payload = load_payload("multi_entry")
    payload["entry"][0]["changes"].append(bad_value)
    notification = parse_notification(payload)
    assert len(notification.messages) == 3
    assert notification.skipped >= 1


@pytest.mark.parametrize("bad_changes", ["changes", 7, {"a": 1}, [None]])
def test_malformed_entries_and_changes_lists_are_skipped(bad_changes) -> None:
    payload = load_payload("multi_entry")
    payload["entry"].insert(0, {"id": "1", "changes": bad_changes})
    payload["entry"].append("entry")
    notification = parse_notification(payload)
    assert len(notification.messages) == 3 and notification.skipped >= 2


@pytest.mark.parametrize(
    "bad_status",
    ["s", {"id": "wamid.S", "status": ["read"]}, {"id": "wamid.S", "status": "read", "errors": "e"},
     {"id": "wamid.S", "status": "read", "conversation": "c"}, {"id": "wamid.S", "status": "read", "pricing": 1}],
)
def test_a_malformed_status_is_skipped(bad_status) -> None:
    payload = load_payload("multi_entry")
    statuses = [s for e in payload["entry"] for c in e["changes"] for s in c["value"].get("statuses", [])]
    payload["entry"][1]["changes"][0]["value"].setdefault("statuses", []).append(bad_status)
    notification = parse_notification(payload)
    assert len(notification.statuses) == len(statuses) and notification.skipped == 1
