"""Acceptance: a citizen completes each of the seven city flows end to end, over the REST
channel and over the WhatsApp webhook, and the result is in the reference service's database.

Each flow is one conversation written once as data (``FLOWS``): what the citizen sends,
either text or the payload of a button the bot offered in its previous answer (as a
citizen tapping it), and what must be true of the answer. The same conversation runs
through two transports:

* REST: Rasa's own ``RestInput`` mounted by ``rasa.core.run.configure_app``; the answer is
  the JSON list the webhook returns;
* WhatsApp: a signed webhook into the project's connector; the answer is what the fake
  Graph API received (button and list-row ids carry the payloads).

Both serve the session's trained model (``model_agent``), whose custom actions run on the
in-process action server against the ``city_services`` backend. Every turn is checked
twice: the responses the assistant chose (their names, from the tracker) and what reached
the citizen through the transport. Expected values (fines, slots, tickets, stations,
alerts) are read from the backend through ``actions/clients``, never written here.
"""
import abc
import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Sequence, Text, Union
from urllib.parse import quote

import pytest
import requests
from rasa.core.agent import Agent
from rasa.core.channels.rest import RestInput
from rasa.core.run import configure_app
from rasa.shared.core.events import BotUttered, UserUttered

from actions import labels, parsing
from actions.clients import (
    AppointmentsClient,
    EcobiciClient,
    GeocodingClient,
    GreenPointsClient,
    IncidentsClient,
    InfractionsClient,
    ServiceRequestsClient,
    WeatherAlertsClient,
)
from channels.whatsapp import WhatsAppConfig, WhatsAppInput
from tests.channels.whatsapp.helpers import (
    ChannelHarness,
    channel_credentials,
    load_payload,
    with_message,
)
from tests.fixtures.graph_api import FakeGraphApi

pytestmark = pytest.mark.model

REST_WEBHOOK = "/webhooks/rest/webhook"

# Subjects of the reference data (city_services/README.md): the fines themselves are
# read from the backend.
FINED_DNI = "30123456"
CLEAN_PLATE = "AE789HJ"
SPECIALTY = "pediatría"
HEALTH_CENTRE = "Hospital Durand"
PREFERRED_DATE = "la semana que viene"
BARRIO = "Caballito"
ADDRESS = "Av. Corrientes 1234"
EMERGENCY_PLACE = "Rivadavia 5000"
REQUEST_DESCRIPTION = "la luminaria de la esquina está apagada hace una semana"
EMERGENCY_DESCRIPTION = "el árbol quedó atravesado y no pasan los autos"

_senders = itertools.count(1)


# --------------------------------------------------------------------- the backend


class City:
    """The reference backend as the tests see it: the project's clients, plus the
    operators' API (with their token) for what only operators do."""

    def __init__(self, url: Text, operator_token: Text, console: Any = None) -> None:
        self.url = url
        self._token = operator_token
        self.console = console  # the operators' console (tests/fixtures/console.py)
        self.infractions = InfractionsClient(url)
        self.appointments = AppointmentsClient(url)
        self.service_requests = ServiceRequestsClient(url)
        self.incidents = IncidentsClient(url)
        self.geocoding = GeocodingClient(url)
        self.green_points = GreenPointsClient(url)
        self.ecobici = EcobiciClient(f"{url}/ecobici/gbfs")
        self.weather_alerts = WeatherAlertsClient(url)

    def get(self, path: Text) -> Any:
        """A record as the backend stores it (fields the clients do not expose)."""
        response = requests.get(f"{self.url}{path}", timeout=10)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()

    def operator(self, method: Text, path: Text, body: Optional[Dict[Text, Any]] = None) -> Any:
        response = requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=10,
        )
        assert response.ok, f"operator {method} {path}: {response.status_code} {response.text}"
        return response.json()


@dataclass
class Conversation:
    """One citizen's conversation: who they are and what earlier answers told them."""

    city: City
    channel: Text  # the input channel Rasa records: "rest" or "whatsapp"
    sender: Text
    dni: Text
    seen: Dict[Text, Any] = field(default_factory=dict)
    cleanups: List[Callable[[], Any]] = field(default_factory=list)


# ---------------------------------------------------------------------- the answers


@dataclass(frozen=True)
class Option:
    """A button or list row the bot offered: the payload it stands for and how the
    transport lets the citizen choose it."""

    payload: Text
    title: Text
    reply_id: Text
    kind: Text  # "button" (REST), "button_reply" / "list_reply" (WhatsApp)


@dataclass
class Answer:
    """What one turn brought the citizen, whatever the transport."""

    texts: List[Text] = field(default_factory=list)
    options: Dict[Text, Option] = field(default_factory=dict)
    documents: List[Dict[Text, Any]] = field(default_factory=list)
    uttered: List[BotUttered] = field(default_factory=list)

    @property
    def text(self) -> Text:
        return "\n".join(self.texts)

    @property
    def responses(self) -> List[Text]:
        """Names of the responses the assistant chose this turn."""
        return [event.metadata.get("utter_action") or "<no response name>" for event in self.uttered]


class Transport(abc.ABC):
    name: Text

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    @abc.abstractmethod
    async def say(self, sender: Text, text: Text) -> Answer:
        """The citizen types ``text``."""

    @abc.abstractmethod
    async def tap(self, sender: Text, option: Option) -> Answer:
        """The citizen taps a button or list row of the previous answer."""

    async def close(self) -> None:
        pass

    async def uttered_last_turn(self, sender: Text) -> List[BotUttered]:
        tracker = await self.agent.tracker_store.retrieve(sender)
        assert tracker is not None, f"no conversation {sender} in the tracker store"
        events = list(tracker.events)
        last_user = max(i for i, e in enumerate(events) if isinstance(e, UserUttered))
        return [e for e in events[last_user:] if isinstance(e, BotUttered)]

    async def understood_last(self, sender: Text) -> Dict[Text, Any]:
        """Intent and entities of the citizen's latest message, for failure messages."""
        tracker = await self.agent.tracker_store.retrieve(sender)
        # the last UserUttered event, not tracker.latest_message: a tracker rebuilt by the
        # in-memory store after a form turn can report an earlier message there
        said = [e for e in (tracker.events if tracker else []) if isinstance(e, UserUttered)]
        parsed = said[-1].parse_data if said else {}
        return {
            "intent": (parsed.get("intent") or {}).get("name"),
            "confidence": round((parsed.get("intent") or {}).get("confidence") or 0, 3),
            "entities": [(e.get("entity"), e.get("value")) for e in parsed.get("entities") or []],
        }


class RestTransport(Transport):
    name = "rest"

    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self.app = configure_app([RestInput()], port=5005)
        self.app.ctx.agent = agent

    async def _post(self, sender: Text, message: Text) -> Answer:
        _, response = await self.app.asgi_client.post(
            REST_WEBHOOK, json={"sender": sender, "message": message}
        )
        assert response.status_code == 200, f"REST webhook answered {response.status_code}: {response.text}"
        answer = Answer()
        for bot_message in response.json:
            if bot_message.get("text"):
                answer.texts.append(bot_message["text"])
            for button in bot_message.get("buttons") or []:
                payload = button["payload"]
                answer.options[payload] = Option(payload, button["title"], payload, "button")
            document = (bot_message.get("custom") or {}).get("document")
            if document:
                answer.documents.append(document)
        return answer

    async def say(self, sender: Text, text: Text) -> Answer:
        return await self._post(sender, text)

    async def tap(self, sender: Text, option: Option) -> Answer:
        # a REST client "taps" by sending the button's payload, as Rasa's own widgets do
        return await self._post(sender, option.payload)


class WhatsAppTransport(Transport):
    name = "whatsapp"
    _wamids = itertools.count(1)
    _clock = itertools.count(int(time.time()))

    def __init__(self, agent: Agent, channel: WhatsAppInput, graph: FakeGraphApi) -> None:
        super().__init__(agent)
        self.channel = channel
        self.graph = graph
        self.harness = ChannelHarness(channel, agent)

    def _delivery(self, template: Text, sender: Text, **fields: Any) -> Dict[Text, Any]:
        wamid = f"wamid.FLOW{next(self._wamids):06d}{sender}"
        payload = with_message(
            load_payload(template),
            **{"from": sender, "id": wamid, "timestamp": str(next(self._clock))},
            **fields,
        )
        payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
        return payload

    async def _deliver(self, sender: Text, payload: Dict[Text, Any]) -> Answer:
        before = len(self.graph.sent_messages(sender))
        response = await self.harness.deliver(payload)
        assert response.status_code == 200, f"webhook answered {response.status_code}: {response.text}"
        answer = Answer()
        for message in self.graph.sent_messages(sender)[before:]:
            kind = message.get("type")
            if kind == "text":
                answer.texts.append(message["text"]["body"])
            elif kind == "interactive":
                interactive = message["interactive"]
                answer.texts.append(interactive["body"]["text"])
                action = interactive.get("action") or {}
                choices = [("button_reply", b["reply"]) for b in action.get("buttons") or []]
                choices += [
                    ("list_reply", row)
                    for section in action.get("sections") or []
                    for row in section.get("rows") or []
                ]
                for reply_kind, choice in choices:
                    # long payloads travel as aliases the channel resolves when tapped
                    payload = self.channel.choices.resolve_reply_id(sender, choice["id"])
                    answer.options[payload] = Option(payload, choice["title"], choice["id"], reply_kind)
            elif kind == "document":
                document = dict(message["document"])
                if "id" in document:  # uploaded to the Graph API: what the citizen gets is those bytes
                    document["bytes"] = self.graph.uploads[document["id"]][0]
                answer.documents.append(document)
            else:
                raise AssertionError(f"unexpected {kind!r} message to the citizen: {message}")
        return answer

    async def say(self, sender: Text, text: Text) -> Answer:
        return await self._deliver(sender, self._delivery("text", sender, text={"body": text}))

    async def tap(self, sender: Text, option: Option) -> Answer:
        template = "interactive_list_reply" if option.kind == "list_reply" else "interactive_button_reply"
        interactive = {"type": option.kind, option.kind: {"id": option.reply_id, "title": option.title}}
        return await self._deliver(sender, self._delivery(template, sender, interactive=interactive))

    async def close(self) -> None:
        await self.channel.drain(5)
        await self.channel.client.close()
        await self.channel.store.close()


# ------------------------------------------------------------------- the conversations

Check = Callable[[Answer, Conversation], None]
Expected = Union[Sequence[Text], Callable[[Conversation], List[Text]]]
Message = Union[Text, Callable[[Conversation], Text]]


@dataclass(frozen=True)
class Step:
    message: Message
    responses: Expected
    tap: bool = False  # the message is the payload of a button the previous answer offered
    check: Optional[Check] = None
    before: Optional[Callable[[Conversation], None]] = None  # what operators do meanwhile

    def text(self, conversation: Conversation) -> Text:
        return self.message(conversation) if callable(self.message) else self.message

    def expected(self, conversation: Conversation) -> List[Text]:
        return list(self.responses(conversation) if callable(self.responses) else self.responses)


def say(message: Message, *responses: Text, expect: Optional[Callable] = None, **kwargs: Any) -> Step:
    return Step(message, expect or responses, **kwargs)


def tap(payload: Text, *responses: Text, expect: Optional[Callable] = None, **kwargs: Any) -> Step:
    return Step(payload, expect or responses, tap=True, **kwargs)


def offers(*payloads: Text) -> Check:
    def check(answer: Answer, _: Conversation) -> None:
        missing = [p for p in payloads if p not in answer.options]
        assert not missing, f"expected the buttons {missing} among {list(answer.options)}"

    return check


def all_of(*checks: Check) -> Check:
    def check(answer: Answer, conversation: Conversation) -> None:
        for one in checks:
            one(answer, conversation)

    return check


def in_order(text: Text, parts: Sequence[Text]) -> None:
    """Each part appears in ``text``, after the previous one."""
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"{part!r} missing (in this order) from {text!r}"
        position = found + len(part)


def only_reference(pattern: Text, text: Text) -> Text:
    found = set(re.findall(pattern, text))
    assert len(found) == 1, f"expected one number like {pattern} in {text!r}, found {sorted(found)}"
    return found.pop()


# 1. infracciones -----------------------------------------------------------------------


def fine_responses(conversation: Conversation) -> List[Text]:
    fines = conversation.city.infractions.find(dni=FINED_DNI)
    assert 0 < len(fines) <= 5, f"the reference data changed: {len(fines)} fines for {FINED_DNI}"
    pending = [f for f in fines if f.status == "pending"]
    assert pending, f"the reference data changed: nothing pending for {FINED_DNI}"
    items = [f"utter_infraction_item_{f.status}" for f in sorted(fines, key=lambda f: f.date)]
    return [*items, "utter_infractions_total", "utter_infractions_how_to_pay"]


def fines_listed(answer: Answer, conversation: Conversation) -> None:
    fines = sorted(conversation.city.infractions.find(dni=FINED_DNI), key=lambda f: f.date)
    pending_total = sum((f.amount for f in fines if f.status == "pending"), Decimal(0))
    in_order(
        answer.text,
        [
            *(part for f in fines for part in (f.place, f.reason, parsing.format_amount(f.amount))),
            parsing.format_amount(pending_total),
        ],
    )


def clean_record(answer: Answer, conversation: Conversation) -> None:
    fines = conversation.city.infractions.find(plate=CLEAN_PLATE)
    assert not [f for f in fines if f.status == "pending"], f"{CLEAN_PLATE} has debt in the backend"
    assert CLEAN_PLATE in answer.text
    offers("/infractions_certificate")(answer, conversation)


def certificate_issued(answer: Answer, conversation: Conversation) -> None:
    assert len(answer.documents) == 1, f"expected the certificate as one document, got {answer.documents}"
    document = answer.documents[0]
    if "link" in document:  # REST, or WhatsApp with a public CITY_SERVICES_PUBLIC_URL
        link = document["link"]
        code = link.rsplit("/", 1)[-1][: -len(".pdf")]
        pdf = requests.get(link, timeout=10).content
    else:  # WhatsApp without a public URL: uploaded to the Graph API and sent by id
        code = document["filename"][len("libre-deuda-"): -len(".pdf")]
        link, pdf = None, document["bytes"]
    certificate = conversation.city.infractions.verify_certificate(code)
    assert certificate.code == code and code in answer.text, f"{code!r} not verifiable or not in {answer.text!r}"
    assert link is None or certificate.pdf_url == link
    assert conversation.city.get(f"/certificates/{code}")["plate"] == CLEAN_PLATE
    assert pdf.startswith(b"%PDF"), "the citizen gets the certificate's PDF"
    assert pdf == requests.get(certificate.pdf_url, timeout=10).content, "the very certificate, not another"


# 2. turnos -----------------------------------------------------------------------------


def centre_chosen(answer: Answer, conversation: Conversation) -> None:
    centres = conversation.city.appointments.find_centres(name=HEALTH_CENTRE, specialty=SPECIALTY, limit=1)
    assert centres, f"the backend has no {HEALTH_CENTRE} with {SPECIALTY}"
    conversation.seen["centre"] = centres[0]
    assert centres[0].name in answer.text


def free_slots_offered(answer: Answer, conversation: Conversation) -> None:
    centre = conversation.seen["centre"]
    payloads = list(answer.options)
    assert payloads == [str(i) for i in range(1, len(payloads) + 1)] and 2 <= len(payloads) <= 5, payloads
    wanted = parsing.parse_date_preference(PREFERRED_DATE, today=date.today())
    free = conversation.city.appointments.free_slots(
        centre.id, SPECIALTY, wanted.date_from, wanted.date_to, part_of_day=wanted.part_of_day, limit=100
    )
    free_labels = {parsing.format_datetime(s.starts_at) for s in free}
    offered = {p: o.title.split(") ", 1)[-1] for p, o in answer.options.items()}
    assert set(offered.values()) <= free_labels, f"offered {offered}, free in the backend {sorted(free_labels)}"
    conversation.seen["offered"] = offered


def confirmation_asked(answer: Answer, conversation: Conversation) -> None:
    assert conversation.seen["offered"]["2"] in answer.text
    offers("/affirm", "/deny")(answer, conversation)


def citizen_ids(conversation: Conversation) -> List[Text]:
    """The ids the city services may have recorded for this citizen (``tracker.sender_id``):
    the sender itself, or the channel-namespaced one (``rest:<sender>``, issue 14 §2)."""
    return [conversation.sender, f"{conversation.channel}:{conversation.sender}"]


def own_appointments(conversation: Conversation) -> List[Any]:
    """Appointments belong to the chat identity that booked them, not to a DNI."""
    return [a for cid in citizen_ids(conversation) for a in conversation.city.appointments.list(cid)]


def as_author(conversation: Conversation, fetch: Callable[[Text], Any]) -> Any:
    """A ticket or incident as its author sees it (details are only shown to the author)."""
    for cid in citizen_ids(conversation):
        record = fetch(cid)
        if record.owner:
            return record
    raise AssertionError(f"no record owned by {citizen_ids(conversation)}")


def booked(answer: Answer, conversation: Conversation) -> None:
    appointments = [a for a in own_appointments(conversation) if a.status == "booked"]
    assert len(appointments) == 1, f"expected one booking for {conversation.dni}, got {appointments}"
    booking = appointments[0]
    assert booking.code in answer.text, f"{booking.code} not in {answer.text!r}"
    assert parsing.format_datetime(booking.starts_at) == conversation.seen["offered"]["2"], "the chosen slot"
    assert booking.specialty == SPECIALTY and booking.centre_name == conversation.seen["centre"].name
    conversation.seen["code"] = booking.code


def appointment_listed(answer: Answer, conversation: Conversation) -> None:
    assert conversation.seen["code"] in answer.text


def cancellation_asked(answer: Answer, conversation: Conversation) -> None:
    assert conversation.seen["code"] in answer.text
    offers("/affirm", "/deny")(answer, conversation)


def cancelled(answer: Answer, conversation: Conversation) -> None:
    code = conversation.seen["code"]
    statuses = {a.code: a.status for a in own_appointments(conversation)}
    assert statuses == {code: "cancelled"}, f"backend after cancelling {code}: {statuses}"
    assert code in answer.text


# 3. solicitudes ------------------------------------------------------------------------


def request_recorded(answer: Answer, conversation: Conversation) -> None:
    ticket = only_reference(r"\bSOL-\d+\b", answer.text)
    request = as_author(conversation, lambda cid: conversation.city.service_requests.get(ticket, cid))
    place = conversation.city.geocoding.locate(ADDRESS)
    assert (request.category, request.address, request.has_photo) == ("alumbrado", place.address, False)
    assert request.address in answer.text
    author = [c for c in citizen_ids(conversation) if conversation.city.service_requests.get(ticket, c).owner][0]
    stored = conversation.city.get(f"/service-requests/{ticket}?citizen_id={quote(author)}")
    assert stored["description"] == REQUEST_DESCRIPTION
    conversation.seen["ticket"] = ticket


def request_in_progress(conversation: Conversation) -> None:
    """An operator takes the request, so the status the citizen reads is news."""
    conversation.city.operator(
        "POST", f"/service-requests/{conversation.seen['ticket']}/status", {"status": "in_progress"}
    )


def request_status(answer: Answer, conversation: Conversation) -> None:
    request = as_author(conversation, lambda cid: conversation.city.service_requests.get(conversation.seen["ticket"], cid))
    assert request.status == "in_progress"
    assert request.ticket in answer.text
    assert labels.label("request_statuses", request.status) in answer.text


# 4. emergencias ------------------------------------------------------------------------


def incident_recorded(answer: Answer, conversation: Conversation) -> None:
    number = only_reference(r"\bDC-\d+\b", answer.text)
    incident = as_author(conversation, lambda cid: conversation.city.incidents.get(number, cid))
    assert incident.kind == "arbol_caido" and incident.priority in answer.text
    author = [c for c in citizen_ids(conversation) if conversation.city.incidents.get(number, c).owner][0]
    stored = conversation.city.get(f"/incidents/{number}?citizen_id={quote(author)}")
    assert (stored["description"], stored["people_at_risk"]) == (EMERGENCY_DESCRIPTION, False)
    assert stored["address"] == conversation.city.geocoding.locate(EMERGENCY_PLACE).address
    handoffs = conversation.city.console.handoffs_of(author)
    assert [(h["reason"], h["channel"], h["area"], h["collected"].get("incident_number")) for h in handoffs] == [
        ("emergency", conversation.channel, "defensa_civil", number)
    ], f"incident {number} not enqueued once for the operators: {handoffs}"


# 5. puntos verdes ----------------------------------------------------------------------


def green_point_responses(conversation: Conversation) -> List[Text]:
    items = ["utter_green_point_item"] * len(nearest_green_points(conversation))
    return ["utter_green_points_nearest", *items]


def nearest_green_points(conversation: Conversation) -> List[Any]:
    place = conversation.city.geocoding.barrio_centre(BARRIO)
    found = conversation.city.green_points.nearest(place.lat, place.lon, limit=3)
    assert len(found) == 3, f"the backend has {len(found)} Puntos Verdes near {BARRIO}"
    return found


def green_points_listed(answer: Answer, conversation: Conversation) -> None:
    parts = []
    for point in nearest_green_points(conversation):
        parts += [point.name, point.address, labels.labels("materials", point.materials), point.hours]
    in_order(answer.text, parts)


# 6. ecobici ----------------------------------------------------------------------------


def nearest_stations(conversation: Conversation) -> List[Any]:
    place = conversation.city.geocoding.locate(ADDRESS)
    stations = conversation.city.ecobici.nearest(place.lat, place.lon, limit=3)
    assert len(stations) == 3, f"the backend has {len(stations)} stations near {ADDRESS}"
    return stations


def station_responses(conversation: Conversation) -> List[Text]:
    items = ["utter_ecobici_station_item"] * len(nearest_stations(conversation))
    return ["utter_ecobici_stations_nearest", *items]


def stations_listed(answer: Answer, conversation: Conversation) -> None:
    stations = nearest_stations(conversation)
    in_order(answer.text, [s.name for s in stations])
    text = answer.text
    for station, following in zip(stations, stations[1:] + [None]):
        block = text[text.index(station.name): text.index(following.name) if following else None]
        for count in (station.bikes, station.docks):
            assert re.search(rf"(?<!\d){count}(?!\d)", block), f"{station.name}: {count} not in {block!r}"


# 7. alertas meteorológicas -------------------------------------------------------------


def alert_published(conversation: Conversation) -> None:
    alert = conversation.city.operator(
        "POST",
        "/weather-alerts",
        {
            "level": "naranja",
            "title": f"Tormentas fuertes ({conversation.sender[-6:]})",
            "description": "Lluvias intensas y ráfagas de hasta 80 km/h.",
            "area": "Comunas 1 a 15",
        },
    )
    conversation.seen["alert"] = alert
    conversation.cleanups.append(
        lambda: conversation.city.operator("POST", f"/weather-alerts/{alert['id']}/expire")
    )


def alert_responses(conversation: Conversation) -> List[Text]:
    active = conversation.city.weather_alerts.active()
    return ["utter_weather_alert_item"] * len(active) + ["utter_weather_alerts_advice"]


def alert_told(answer: Answer, conversation: Conversation) -> None:
    alert = conversation.seen["alert"]
    active = {a.id: a for a in conversation.city.weather_alerts.active()}
    assert str(alert["id"]) in active, "the published alert is active in the backend"
    # other alerts may be active too: this one's level must be on its own title's line
    start = answer.text.find(alert["title"])
    assert start >= 0, f"{alert['title']!r} not in {answer.text!r}"
    line = answer.text[answer.text.rfind("\n", 0, start) + 1: start]
    assert alert["level"] in line, f"level {alert['level']!r} not next to the title in {line!r}"
    in_order(answer.text[start:], [alert["description"], alert["area"]])


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    name: Text
    steps: Sequence[Step]


FLOWS = [
    Flow(
        "infractions_fines_by_dni",
        [
            say("tengo multas?", "utter_ask_privacy_accepted", check=offers("/affirm", "/deny")),
            tap("/affirm", "utter_ask_infractions_subject"),
            say("mi dni es 30.123.456", expect=fine_responses, check=fines_listed),
        ],
    ),
    Flow(
        "infractions_certificate_for_a_clean_plate",
        [
            say("quiero consultar mis infracciones", "utter_ask_privacy_accepted", check=offers("/affirm")),
            tap("/affirm", "utter_ask_infractions_subject"),
            say("AE 789 HJ", "utter_no_infractions", "utter_offer_certificate", check=clean_record),
            tap("/infractions_certificate", "utter_certificate_issued", check=certificate_issued),
        ],
    ),
    Flow(
        "appointments_book_list_cancel",
        [
            say("quiero sacar un turno", "utter_ask_specialty"),
            say(SPECIALTY, "utter_ask_health_centre"),
            say(HEALTH_CENTRE, "utter_health_centre_chosen", "utter_ask_appointment_date", check=centre_chosen),
            say(PREFERRED_DATE, "utter_ask_dni"),
            say(lambda c: c.dni, "utter_ask_appointment_slot", check=free_slots_offered),
            tap("2", "utter_ask_appointment_confirmed", check=confirmation_asked),
            tap("/affirm", "utter_appointment_booked", check=booked),
            say("qué turnos tengo?", "utter_appointment_item", "utter_appointments_how_to_cancel",
                check=appointment_listed),
            say("quiero cancelar un turno", "utter_ask_appointment_code"),
            say(lambda c: c.seen["code"], "utter_ask_cancel_confirmed", check=cancellation_asked),
            tap("/affirm", "utter_appointment_cancelled", check=cancelled),
        ],
    ),
    Flow(
        "service_request_create_and_status",
        [
            say("quiero reportar un problema en la calle", "utter_ask_request_category",
                check=offers('/inform{"request_category": "alumbrado"}')),
            tap('/inform{"request_category": "alumbrado"}', "utter_ask_service_request_form_location"),
            say(ADDRESS, "utter_ask_request_description"),
            say(REQUEST_DESCRIPTION, "utter_ask_request_photo", check=offers("/deny")),
            tap("/deny", "utter_service_request_created", check=request_recorded),
            say("cómo va mi reclamo?", "utter_ask_ticket", before=request_in_progress),
            say(lambda c: c.seen["ticket"], "utter_service_request_status", check=request_status),
        ],
    ),
    Flow(
        "emergency_report",
        [
            say("tengo una emergencia", "utter_emergency_numbers", "utter_ask_emergency_type",
                check=offers('/inform{"emergency_type": "arbol_caido"}')),
            tap('/inform{"emergency_type": "arbol_caido"}', "utter_ask_emergency_form_location"),
            say(EMERGENCY_PLACE, "utter_ask_people_at_risk", check=offers("/affirm", "/deny")),
            tap("/deny", "utter_ask_emergency_description"),
            say(EMERGENCY_DESCRIPTION, "utter_emergency_recorded", "utter_emergency_operator_follow_up",
                check=incident_recorded),
        ],
    ),
    Flow(
        "green_points_by_barrio",
        [
            say("dónde hay un punto verde?", "utter_ask_green_points_form_location"),
            say(BARRIO, expect=green_point_responses, check=green_points_listed),
        ],
    ),
    Flow(
        "ecobici_stations_by_address",
        [
            say("estación de ecobici más cercana", "utter_ask_ecobici_form_location"),
            say(ADDRESS, expect=station_responses, check=stations_listed),
        ],
    ),
    Flow(
        "weather_alert_published_by_an_operator",
        [
            say("hay alerta meteorológica?", expect=alert_responses, check=alert_told, before=alert_published),
        ],
    ),
]


# ------------------------------------------------------------------------------- tests


@pytest.fixture
def city(city_services: str, operator_token: str, console_service: Any) -> City:
    return City(city_services, operator_token, console_service)


@pytest.fixture(params=["rest", "whatsapp"])
async def transport(request: pytest.FixtureRequest, model_agent: Agent) -> AsyncIterator[Transport]:
    if request.param == "rest":
        chosen: Transport = RestTransport(model_agent)
    else:
        graph: FakeGraphApi = request.getfixturevalue("fake_graph_api")
        directory = request.getfixturevalue("tmp_path")
        config = WhatsAppConfig.from_credentials(channel_credentials(graph.base_url, directory), environ={})
        chosen = WhatsAppTransport(model_agent, WhatsAppInput(config), graph)
    try:
        yield chosen
    finally:
        await chosen.close()


def new_conversation(city: City, channel: Text) -> Conversation:
    # a WhatsApp-shaped number serves both transports; the DNI is this citizen's own, so
    # bookings from other tests never show in their list
    unique = (time.time_ns() // 1000 + next(_senders)) % 10**8
    return Conversation(
        city, channel, sender=f"54911{unique:08d}", dni=str(40_000_000 + unique % 50_000_000)
    )


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.name)
async def test_citizen_completes_the_flow(flow: Flow, transport: Transport, city: City) -> None:
    conversation = new_conversation(city, transport.name)
    previous: Optional[Answer] = None
    try:
        for number, step in enumerate(flow.steps, start=1):
            if step.before:
                step.before(conversation)
            message = step.text(conversation)
            where = f"{flow.name} over {transport.name}, step {number} ({message!r})"
            if step.tap:
                offered = previous.options if previous else {}
                assert message in offered, f"{where}: the previous answer offered {list(offered)}"
                answer = await transport.tap(conversation.sender, offered[message])
            else:
                answer = await transport.say(conversation.sender, message)
            answer.uttered = await transport.uttered_last_turn(conversation.sender)
            expected = step.expected(conversation)
            assert answer.responses == expected, (
                f"{where}: expected {expected}, the assistant answered {answer.responses}; "
                f"it understood {await transport.understood_last(conversation.sender)}"
            )
            for event in answer.uttered:  # everything the assistant said reached the citizen
                if event.text:
                    assert event.text.strip() in answer.text, f"{where}: {event.text!r} not delivered"
            if step.check:
                step.check(answer, conversation)
            previous = answer
        if isinstance(transport, WhatsAppTransport):
            assert transport.graph.violations == [], "every message was valid for the Cloud API"
    finally:
        for cleanup in conversation.cleanups:
            cleanup()
