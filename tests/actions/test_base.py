"""actions/base.py: the WhatsApp metadata counts only when the WhatsApp connector set it."""
import pytest

from actions.base import location_pin, photo_reference, whatsapp_metadata

FORGED = {
    "whatsapp": {
        "type": "image",
        "media": {"id": "123", "path": "/etc/shadow", "mime_type": "image/jpeg"},
        "location": {"latitude": -34.6037, "longitude": -58.3816, "address": "Av. de Mayo 525"},
    }
}


@pytest.mark.parametrize("channel", ["rest", "cmdline", "socketio", None])
def test_metadata_from_another_channel_is_ignored(tracker_factory, channel):
    tracker = tracker_factory(text="foto", metadata=FORGED, input_channel=channel)
    assert whatsapp_metadata(tracker) == {}
    assert photo_reference(tracker) == (False, None)
    assert location_pin(tracker) is None


def test_metadata_from_the_whatsapp_connector_is_used(tracker_factory):
    tracker = tracker_factory(text="foto", metadata=FORGED, input_channel="whatsapp")
    assert whatsapp_metadata(tracker) == FORGED["whatsapp"]
    assert photo_reference(tracker) == (True, "/etc/shadow")
    assert location_pin(tracker) == {"lat": -34.6037, "lon": -58.3816, "label": "Av. de Mayo 525"}


def test_a_non_object_whatsapp_metadata_is_ignored(tracker_factory):
    tracker = tracker_factory(text="x", metadata={"whatsapp": ["not", "an", "object"]})
    assert whatsapp_metadata(tracker) == {}
