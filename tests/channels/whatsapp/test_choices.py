"""Choices the bot offered, found again from the tracker's events (restart, other process)."""
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from channels.whatsapp.choices import (
    ALIAS_PREFIX,
    ChoiceMemory,
    alias_in_events,
    alias_key,
    choice_in_events,
    typed_number,
)

BARRIOS = [{"title": f"Barrio {i}", "payload": f'/inform{{"barrio": "B{i}"}}'} for i in range(1, 13)]


def _offered(buttons, then=()):
    return [
        UserUttered("barrios"),
        BotUttered("Elegí tu barrio:", data={"buttons": buttons}),
        ActionExecuted("action_listen"),
        *then,
    ]


def test_typed_numbers_as_citizens_write_them() -> None:
    assert [typed_number(t) for t in ("3", " 12 ", "#4", "5.", "6)")] == [3, 12, 4, 5, 6]
    assert [typed_number(t) for t in ("somos 3", "3 personas", "", None, "1234")] == [None] * 5


def test_a_typed_number_answers_the_numbered_list_of_the_last_answer() -> None:
    assert choice_in_events(_offered(BARRIOS), "12") == BARRIOS[11]["payload"]
    assert choice_in_events(_offered(BARRIOS), "1.") == BARRIOS[0]["payload"]


def test_numbers_outside_the_list_or_after_another_message_are_text() -> None:
    assert choice_in_events(_offered(BARRIOS), "13") is None
    assert choice_in_events(_offered(BARRIOS), "0") is None
    later = _offered(BARRIOS, then=[UserUttered("no sé"), BotUttered("¿Qué necesitás?")])
    assert choice_in_events(later, "3") is None


def test_up_to_ten_buttons_are_widgets_so_a_number_is_text() -> None:
    assert choice_in_events(_offered(BARRIOS[:10]), "3") is None


def test_an_alias_is_found_from_the_bot_messages_and_matches_memory() -> None:
    long_payload = '/inform{"direccion": "' + "x" * 300 + '"}'
    buttons = [{"title": "Esa", "payload": long_payload}, {"title": "Otra", "payload": "/deny"}]
    key = ChoiceMemory().alias("5491100000000", long_payload)
    assert key == alias_key(long_payload) and key.startswith(ALIAS_PREFIX)
    events = _offered(buttons, then=[UserUttered("hola"), BotUttered("¡Hola!")])
    assert alias_in_events(events, key) == long_payload
    assert alias_in_events(events, alias_key("otro")) is None
    assert alias_in_events(events, "/deny") is None, "only aliases are looked up"
