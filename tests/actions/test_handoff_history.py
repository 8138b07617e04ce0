"""What the operator receives with a handoff: the session's history, the service, the fallbacks."""
from actions.handoff import conversation_history, fallbacks_in_a_row, service_topic


def user(text, intent, channel="whatsapp", metadata=None, timestamp=1764900000.0):
    return {
        "event": "user", "text": text, "input_channel": channel, "timestamp": timestamp,
        "message_id": f"wamid.{abs(hash((text, timestamp)))}", "metadata": metadata or {},
        "parse_data": {"intent": {"name": intent, "confidence": 0.9}},
    }


def bot(text, timestamp=1764900001.0):
    return {"event": "bot", "text": text, "timestamp": timestamp}


PHOTO = {"whatsapp": {"media": {"id": "1", "mime_type": "image/jpeg", "path": "/srv/var/media/1.jpg",
                                "status": "stored"}}}
PIN = {"whatsapp": {"location": {"latitude": -34.6037, "longitude": -58.3816, "name": "Obelisco",
                                 "address": None}}}


def test_history_keeps_both_sides_of_this_session_only(tracker_factory):
    events = [
        user("mi dni es 30123456", "inform", timestamp=1764800000.0),
        {"event": "session_started", "timestamp": 1764890000.0},
        user("hola", "greet"),
        bot("¡Hola! ¿En qué te ayudo?"),
        user("quiero hablar con alguien", "human_handoff", timestamp=1764900002.0),
    ]
    history = conversation_history(tracker_factory(events=events))
    assert [(item.direction, item.text) for item in history] == [
        ("citizen", "hola"), ("bot", "¡Hola! ¿En qué te ayudo?"), ("citizen", "quiero hablar con alguien"),
    ]
    assert history[0].at.startswith("2025-12-05T") and history[0].external_id


def test_history_carries_photos_and_pins_from_whatsapp(tracker_factory):
    events = [user("/inform", "inform", metadata=PHOTO), user("/inform", "inform", metadata=PIN, timestamp=1764900003.0)]
    photo, pin = conversation_history(tracker_factory(events=events))
    assert (photo.kind, photo.media_ref, photo.mime_type, photo.text) == ("image", "/srv/var/media/1.jpg", "image/jpeg", None)
    assert (pin.kind, pin.latitude, pin.longitude, pin.text) == ("location", -34.6037, -58.3816, "Obelisco")


def test_history_ignores_media_claimed_by_another_channel(tracker_factory):
    # a REST caller can put anything in metadata: never a path on the server's disk
    events = [user("mirá esta foto", "inform", channel="rest", metadata=PHOTO)]
    (item,) = conversation_history(tracker_factory(events=events))
    assert (item.kind, item.media_ref, item.text) == ("text", None, "mirá esta foto")


def test_history_is_capped(tracker_factory):
    events = [user(f"mensaje {i}", "inform", timestamp=1764900000.0 + i) for i in range(100)]
    history = conversation_history(tracker_factory(events=events), limit=10)
    assert [item.text for item in history] == [f"mensaje {i}" for i in range(90, 100)]


def test_service_topic_is_the_last_service_asked_about(tracker_factory):
    events = [user("multas", "infractions_check"), user("gracias", "thank"), user("una persona", "human_handoff")]
    assert service_topic(tracker_factory(events=events)) == "infractions_check"
    faq = [user("cómo me registro en ecobici", "ecobici/registration"), user("operador", "human_handoff")]
    assert service_topic(tracker_factory(events=faq)) == "ecobici"
    assert service_topic(tracker_factory(events=[user("hola", "greet"), user("persona", "human_handoff")])) is None


def test_fallbacks_in_a_row_counts_back_from_the_latest_message(tracker_factory):
    events = [user("asdf", "nlu_fallback"), user("hola", "greet"), user("qwer", "nlu_fallback"),
              bot("no entendí"), user("zxcv", "nlu_fallback")]
    assert fallbacks_in_a_row(tracker_factory(events=events)) == 2
    assert fallbacks_in_a_row(tracker_factory(events=[user("hola", "greet")])) == 0
