"""WhatsAppOutput against the fake Graph API: merging, splitting, buttons, media, errors."""
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from channels.whatsapp import WhatsAppConfig, WhatsAppOutput, outbound
from channels.whatsapp.choices import ChoiceMemory
from channels.whatsapp.graph_api import GraphApiClient
from tests.channels.whatsapp.helpers import graph_texts
from tests.fixtures.graph_api import FAKE_TOKEN, FakeGraphApi

TO = "5491155550101"


@pytest.fixture
async def make_output(make_config: Callable[..., WhatsAppConfig]):
    clients: List[GraphApiClient] = []

    def make(buffered: bool = True, responses: Any = None, choices=None, **overrides: Any):
        config = make_config(**overrides)
        client = GraphApiClient(config)
        clients.append(client)
        texts = responses if callable(responses) else (responses or {}).get
        return WhatsAppOutput(client, config, choices or ChoiceMemory(), texts, buffered=buffered)

    yield make
    for client in clients:
        await client.close()


def buttons(n: int, title: str = "Opción número") -> List[Dict[str, str]]:
    return [{"title": f"{title} {i}", "payload": f"/inform{{\"barrio\": \"B{i}\"}}"} for i in range(1, n + 1)]


async def test_buffered_texts_of_one_turn_become_one_message(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output()
    for text in ("Primero.", "Segundo.", "Tercero."):
        await output.send_response(TO, {"text": text})
    assert fake_graph_api.sent_messages() == [], "nothing may go out before the turn ends"
    await output.flush()
    assert graph_texts(fake_graph_api) == ["Primero.\n\nSegundo.\n\nTercero."]
    assert fake_graph_api.violations == []


async def test_long_texts_are_split_cleanly(make_output, fake_graph_api: FakeGraphApi) -> None:
    sentence = "El Punto Verde recibe pilas, aceite y vidrio. "
    text = sentence * 200  # ~9 200 characters
    output = make_output()
    await output.send_response(TO, {"text": text})
    await output.flush()
    sent = graph_texts(fake_graph_api)
    assert len(sent) == 3 and all(len(s) <= outbound.TEXT_LIMIT for s in sent)
    assert all(s.endswith(".") for s in sent)
    assert " ".join(" ".join(sent).split()) == " ".join(text.split())


async def test_texts_are_merged_only_while_they_fit(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output()
    await output.send_response(TO, {"text": "a" * 3000})
    await output.send_response(TO, {"text": "b" * 2000})
    await output.flush()
    assert [len(t) for t in graph_texts(fake_graph_api)] == [3000, 2000]


async def test_up_to_three_buttons_are_reply_buttons(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output()
    await output.send_response(TO, {"text": "Hola."})
    menu = [
        {"title": "Puntos Verdes cerca de mi casa", "payload": "/green_points"},
        {"title": "Turnos en hospitales", "payload": "/appointments_book"},
        {"title": "Reclamos por baches y veredas", "payload": '/service_requests{"request_category": "bache"}'},
    ]
    await output.send_response(TO, {"text": "¿Qué necesitás?", "buttons": menu})
    await output.flush()
    (message,) = fake_graph_api.sent_messages()
    interactive = message["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"] == "Hola.\n\n¿Qué necesitás?", "the preceding text joins the body"
    replies = [b["reply"] for b in interactive["action"]["buttons"]]
    assert [r["id"] for r in replies] == [b["payload"] for b in menu]
    assert [r["title"] for r in replies] == ["Puntos Verdes cerca…", "Turnos en hospitales", "Reclamos por baches…"]
    assert fake_graph_api.violations == []


async def test_buttons_whose_short_titles_collide_become_a_list(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output()
    await output.send_response(TO, {"text": "Elegí:", "buttons": buttons(3, "Buscar un Punto Verde cercano")})
    await output.flush()
    (message,) = fake_graph_api.sent_messages()
    assert message["interactive"]["type"] == "list"
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert [r["description"] for r in rows] == [b["title"] for b in buttons(3, "Buscar un Punto Verde cercano")]
    assert fake_graph_api.violations == []


async def test_four_to_ten_buttons_are_a_list(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output(responses={"utter_whatsapp_list_button": "Ver opciones"})
    long_titles = buttons(7, "Centro de Salud y Acción Comunitaria número")
    await output.send_response(TO, {"text": "Elegí un centro:", "buttons": long_titles})
    await output.flush()
    (message,) = fake_graph_api.sent_messages()
    action = message["interactive"]["action"]
    rows = action["sections"][0]["rows"]
    assert message["interactive"]["type"] == "list" and action["button"] == "Ver opciones"
    assert [r["id"] for r in rows] == [b["payload"] for b in long_titles]
    assert all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)
    assert all(r["description"] for r in rows), "a shortened title keeps its full text in the description"
    assert fake_graph_api.violations == []


async def test_more_than_ten_buttons_are_a_numbered_list_that_understands_numbers(
    make_output, fake_graph_api: FakeGraphApi
) -> None:
    choices = ChoiceMemory()
    output = make_output(choices=choices)
    many = buttons(12)
    await output.send_response(TO, {"text": "Elegí tu barrio:", "buttons": many})
    await output.flush()
    (text,) = graph_texts(fake_graph_api)
    for index, button in enumerate(many, start=1):
        assert f"{index}. {button['title']}" in text
    assert choices.resolve_typed(TO, "11") == many[10]["payload"]
    assert choices.resolve_typed(TO, "11") is None, "a list answers only the next message"


async def test_payloads_longer_than_an_id_travel_as_aliases(make_output, fake_graph_api: FakeGraphApi) -> None:
    choices = ChoiceMemory()
    output = make_output(choices=choices)
    payload = "/inform" + '{"address": "' + "Avenida Corrientes " * 20 + '"}'
    await output.send_response(TO, {"text": "¿Es esta?", "buttons": [{"title": "Sí", "payload": payload}]})
    await output.flush()
    (message,) = fake_graph_api.sent_messages()
    button_id = message["interactive"]["action"]["buttons"][0]["reply"]["id"]
    assert len(button_id) <= 256 and choices.resolve_reply_id(TO, button_id) == payload


async def test_images_by_link_and_by_upload(make_output, fake_graph_api: FakeGraphApi, tmp_path: Path) -> None:
    picture = tmp_path / "mapa.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    output = make_output()
    await output.send_response(TO, {"image": "https://buenosaires.gob.ar/mapa.png"})
    await output.send_response(TO, {"image": str(picture)})
    await output.flush()
    link, uploaded = fake_graph_api.sent_messages()
    assert link["image"] == {"link": "https://buenosaires.gob.ar/mapa.png"}
    assert uploaded["image"]["id"] in fake_graph_api.uploads
    assert fake_graph_api.uploads[uploaded["image"]["id"]] == (picture.read_bytes(), "image/png")


async def test_custom_passthrough_location_and_document(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output(documents_public_url="https://buenosaires.gob.ar")  # public: links go as they are
    location = {"type": "location", "location": {"latitude": -34.6, "longitude": -58.4, "name": "Punto Verde"}}
    await output.send_response(TO, {"custom": location})
    await output.send_response(TO, {"custom": {"document": {"link": "https://buenosaires.gob.ar/c.pdf", "filename": "libre-deuda.pdf"}}})
    await output.flush()
    sent_location, document = fake_graph_api.sent_messages()
    assert sent_location["location"] == location["location"] and sent_location["to"] == TO
    assert document["type"] == "document"
    assert document["document"] == {"link": "https://buenosaires.gob.ar/c.pdf", "filename": "libre-deuda.pdf"}
    assert fake_graph_api.violations == []


async def test_location_between_texts_keeps_the_order(make_output, fake_graph_api: FakeGraphApi) -> None:
    """A place (actions/appointments.py's nearest health centres) comes as a location message
    with name and address, between the texts of its turn."""
    output = make_output()
    pin = {"type": "location", "location": {"latitude": -34.6006, "longitude": -58.4107,
                                            "name": "Hospital de Clínicas", "address": "Av. Córdoba 2351"}}
    await output.send_response(TO, {"text": "Los más cercanos:"})
    await output.send_response(TO, {"custom": pin})
    await output.send_response(TO, {"text": "📍 Hospital de Clínicas, a 300 m"})
    await output.flush()
    first, location, last = fake_graph_api.sent_messages()
    assert first["type"] == "text" and last["type"] == "text"
    assert location["type"] == "location" and location["location"] == pin["location"]
    assert fake_graph_api.violations == []


async def test_unbuffered_output_sends_at_once(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output(buffered=False)
    await output.send_response(TO, {"text": "Aviso de Defensa Civil"})
    assert graph_texts(fake_graph_api) == ["Aviso de Defensa Civil"]


@pytest.mark.parametrize("status, code", [(429, 131056), (400, 130429), (400, 80007), (403, 4), (500, 131000), (503, 1)])
async def test_throughput_errors_and_5xx_are_retried(make_output, fake_graph_api: FakeGraphApi, status: int, code: int) -> None:
    fake_graph_api.fail_next(status, code, times=2)
    output = make_output()
    await output.send_response(TO, {"text": "hola"})
    await output.flush()
    attempts = [r.status for r in fake_graph_api.requests]
    assert attempts == [status, status, 200]
    assert graph_texts(fake_graph_api) == ["hola"]


async def test_other_client_errors_are_not_retried(make_output, fake_graph_api: FakeGraphApi, caplog) -> None:
    fake_graph_api.fail_next(400, 100)
    output = make_output()
    await output.send_response(TO, {"text": "uno"})
    with caplog.at_level(logging.ERROR):
        await output.flush()  # must not raise
    assert [r.status for r in fake_graph_api.requests] == [400]
    assert "code=100" in caplog.text


async def test_a_failing_send_does_not_stop_the_next_ones(make_output, fake_graph_api: FakeGraphApi) -> None:
    fake_graph_api.fail_next(400, 100)
    output = make_output()
    await output.send_response(TO, {"image": "https://buenosaires.gob.ar/x.png"})
    await output.send_response(TO, {"text": "sigue"})
    await output.flush()
    assert graph_texts(fake_graph_api) == ["sigue"]


async def test_outside_window_sends_the_configured_template(make_output, fake_graph_api: FakeGraphApi, caplog) -> None:
    fake_graph_api.fail_next(400, 131047)
    output = make_output(fallback_template="vecino_retomar", fallback_template_language="es_AR")
    await output.send_response(TO, {"text": "uno"})
    await output.send_response(TO, {"image": "https://buenosaires.gob.ar/x.png"})
    with caplog.at_level(logging.WARNING):
        await output.flush()
    (template,) = fake_graph_api.sent_messages()
    assert template["type"] == "template"
    assert template["template"] == {"name": "vecino_retomar", "language": {"code": "es_AR"}}
    assert "131047" in caplog.text


async def test_outside_window_without_template_is_only_logged(make_output, fake_graph_api: FakeGraphApi, caplog) -> None:
    fake_graph_api.fail_next(400, 131047)
    output = make_output()
    await output.send_response(TO, {"text": "uno"})
    with caplog.at_level(logging.WARNING):
        await output.flush()
    assert fake_graph_api.sent_messages() == [] and "131047" in caplog.text


async def test_expired_token_is_logged_loudly(make_output, fake_graph_api: FakeGraphApi, caplog) -> None:
    fake_graph_api.fail_next(401, 190)
    output = make_output()
    await output.send_response(TO, {"text": "uno"})
    await output.send_response(TO, {"image": "https://buenosaires.gob.ar/x.png"})
    with caplog.at_level(logging.WARNING):
        await output.flush()
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert critical and "EXPIRED" in critical[0].getMessage()
    assert len(fake_graph_api.requests) == 1, "after 190 nothing else is attempted"
    assert FAKE_TOKEN not in caplog.text


async def test_buttons_with_sections_are_a_list_with_titled_sections(make_output, fake_graph_api: FakeGraphApi) -> None:
    output = make_output(responses={"utter_whatsapp_list_button": "Ver opciones"})
    grouped = [
        {"title": "Sacar un turno", "payload": "/appointments_book", "section": "Turnos"},
        {"title": "Volver al menú", "payload": "/help", "section": "Más opciones"},
    ]
    await output.send_response(TO, {"text": "Salud:", "buttons": grouped})
    await output.flush()
    (message,) = fake_graph_api.sent_messages()
    assert message["interactive"]["type"] == "list", "grouped buttons are a list even when two would fit as buttons"
    sections = message["interactive"]["action"]["sections"]
    assert [(s["title"], [r["id"] for r in s["rows"]]) for s in sections] == [
        ("Turnos", ["/appointments_book"]),
        ("Más opciones", ["/help"]),
    ]
    assert fake_graph_api.violations == []


MENU_RESPONSES = ["utter_menu"] + [f"utter_menu_{group}" for group in (
    "tramites", "salud", "movilidad", "seguridad", "educacion", "ambiente", "comunidad")]


@pytest.mark.parametrize("response", MENU_RESPONSES)
async def test_the_menus_are_lists_with_sections_and_the_domain_button_label(
    response, project_domain, make_output, fake_graph_api: FakeGraphApi
) -> None:
    def texts(name: str):
        variations = project_domain.responses.get(name) or []
        return variations[0].get("text") if variations else None

    (variation,) = project_domain.responses[response]
    output = make_output(responses=texts)
    await output.send_response(TO, {"text": variation["text"], "buttons": variation["buttons"]})
    await output.flush()
    (message,) = fake_graph_api.sent_messages()
    interactive = message["interactive"]
    assert interactive["type"] == "list", f"{response} must be a WhatsApp list"
    assert interactive["action"]["button"] == texts("utter_whatsapp_list_button") == "Ver opciones"
    sections = interactive["action"]["sections"]
    rows = [row for section in sections for row in section["rows"]]
    assert len(sections) >= 2 and all(1 <= len(s["title"]) <= 24 for s in sections)
    assert 1 <= len(rows) <= 10
    assert all(len(row["title"]) <= 24 and "description" not in row for row in rows), "titles fit unshortened"
    assert [row["id"] for row in rows] == [b["payload"] for b in variation["buttons"]], "payloads travel as row ids"
    assert fake_graph_api.violations == []


@pytest.mark.parametrize(
    "public_url, by_upload",
    [
        (None, True),
        ("http://127.0.0.1:8100", True),
        ("http://localhost:8100", True),
        ("http://10.0.0.5", True),
        ("http://192.168.1.20:8100", True),
        ("https://servicios.buenosaires.gob.ar", False),
    ],
)
def test_documents_are_uploaded_unless_their_host_is_public(make_config, public_url, by_upload) -> None:
    assert make_config(documents_public_url=public_url).documents_by_upload is by_upload


async def test_the_libre_deuda_pdf_without_a_public_url_is_uploaded_and_sent_by_id(
    make_output, fake_graph_api: FakeGraphApi, city_services: str
) -> None:
    from actions.clients.infractions import InfractionsClient

    certificate = InfractionsClient(city_services).issue_certificate(dni="28999111")  # only paid fines
    assert certificate.pdf_url.startswith("http://127.0.0.1"), "the link Meta could not fetch"
    output = make_output()  # no CITY_SERVICES_PUBLIC_URL
    document = {"link": certificate.pdf_url, "filename": f"libre-deuda-{certificate.code}.pdf", "caption": "Certificado"}
    await output.send_response(TO, {"custom": {"document": document}})
    await output.flush()
    ((media_id, (data, mime_type)),) = fake_graph_api.uploads.items()
    assert data.startswith(b"%PDF") and mime_type == "application/pdf"
    (sent,) = fake_graph_api.sent_messages()
    assert sent["type"] == "document"
    assert sent["document"] == {"id": media_id, "filename": document["filename"], "caption": "Certificado"}
    assert fake_graph_api.violations == []


async def test_a_document_that_cannot_be_downloaded_still_goes_as_its_link(
    make_output, fake_graph_api: FakeGraphApi, city_services: str
) -> None:
    output = make_output()
    link = f"{city_services}/certificates/NO-SUCH-CODE.pdf"
    await output.send_response(TO, {"custom": {"document": {"link": link}}})
    await output.flush()
    (sent,) = fake_graph_api.sent_messages()
    assert sent["document"]["link"] == link and fake_graph_api.uploads == {}
