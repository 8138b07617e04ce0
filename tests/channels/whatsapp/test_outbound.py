"""Pure builders and text helpers, checked against the fake Graph API's validator."""
import re

import pytest

from channels.whatsapp import outbound
from tests.fixtures.graph_api import validate_message

TO = "5491155550101"
WORDS = "La Ciudad ofrece turnos en hospitales y centros de salud barriales".split()


@pytest.mark.parametrize("limit", [10, 20, 24, 60])
def test_shorten_never_breaks_words(limit: int) -> None:
    text = " ".join(WORDS)
    short = outbound.shorten(text, limit)
    assert len(short) <= limit
    assert short.endswith(outbound.ELLIPSIS)
    kept = short[: -len(outbound.ELLIPSIS)].split()
    assert kept == WORDS[: len(kept)], f"{short!r} cut a word"


def test_shorten_keeps_short_text_and_cuts_a_single_long_word() -> None:
    assert outbound.shorten("Puntos Verdes", 20) == "Puntos Verdes"
    long_word = "Electrodomésticos" * 3
    short = outbound.shorten(long_word, 20)
    assert len(short) == 20 and short.endswith(outbound.ELLIPSIS)


def test_split_text_cuts_cleanly_and_loses_nothing() -> None:
    paragraph = " ".join(WORDS) + ". "
    text = "\n\n".join(paragraph * 6 for _ in range(24))
    assert len(text) > 2 * outbound.TEXT_LIMIT
    parts = outbound.split_text(text)
    assert len(parts) >= 3
    assert all(0 < len(p) <= outbound.TEXT_LIMIT for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    for part in parts[:-1]:
        assert part.endswith("."), f"part should end at a sentence or paragraph: {part[-20:]!r}"


def test_split_text_without_any_break_still_respects_words() -> None:
    text = " ".join(["palabra"] * 1500)
    parts = outbound.split_text(text, 100)
    assert all(len(p) <= 100 and not p.startswith(" ") for p in parts)
    assert all(set(p.split()) == {"palabra"} for p in parts)


def test_builders_produce_valid_cloud_api_bodies() -> None:
    messages = [
        outbound.TextMessage(TO, "hola"),
        outbound.ReplyButtonsMessage(
            TO, "¿Qué querés hacer?", (outbound.ReplyButton("/affirm", "Sí"), outbound.ReplyButton("/deny", "No"))
        ),
        outbound.ListMessage(
            TO, "Elegí", "Ver", tuple(outbound.ListRow(f"/x{i}", f"Opción {i}", "detalle") for i in range(10))
        ),
        outbound.ImageMessage(TO, link="https://buenosaires.gob.ar/logo.png", caption="logo"),
        outbound.ImageMessage(TO, media_id="123"),
        outbound.DocumentMessage(TO, link="https://buenosaires.gob.ar/a.pdf", filename="a.pdf"),
        outbound.LocationMessage(TO, -34.6, -58.38, "Obelisco", "Av. 9 de Julio"),
        outbound.TemplateMessage(TO, "vecino_reengage", "es_AR"),
        outbound.CustomMessage(TO, {"interactive": {"type": "location_request_message", "body": {"text": "x"}, "action": {"name": "send_location"}}}),
        outbound.MarkAsRead("wamid.X", typing_indicator=True),
    ]
    for message in messages:
        body = message.to_dict()
        assert validate_message(body) is None, f"{type(message).__name__}: {validate_message(body)}"
        assert body["messaging_product"] == "whatsapp"
    assert messages[-1].to_dict()["typing_indicator"] == {"type": "text"}
    assert messages[8].to_dict()["type"] == "interactive"


@pytest.mark.parametrize(
    "build",
    [
        lambda: outbound.TextMessage(TO, "x" * 4097),
        lambda: outbound.TextMessage(TO, ""),
        lambda: outbound.ReplyButtonsMessage(TO, "b", tuple(outbound.ReplyButton(str(i), str(i)) for i in range(4))),
        lambda: outbound.ReplyButtonsMessage(TO, "b", (outbound.ReplyButton("1", "x" * 21),)),
        lambda: outbound.ListMessage(TO, "b", "Ver", tuple(outbound.ListRow(str(i), str(i)) for i in range(11))),
        lambda: outbound.ListMessage(TO, "b", "Ver", (outbound.ListRow("1", "x" * 25),)),
        lambda: outbound.ListMessage(TO, "b", "Ver", (outbound.ListRow("1", "t", "d" * 73),)),
        lambda: outbound.ImageMessage(TO),
        lambda: outbound.ListMessage(TO, "b", "Ver", (outbound.ListRow("1", "t", section="s" * 25),)),
        lambda: outbound.ListMessage(TO, "b", "Ver", (outbound.ListRow("1", "t", section="A"), outbound.ListRow("2", "u"))),
    ],
)
def test_builders_refuse_what_graph_would_reject(build) -> None:
    with pytest.raises(ValueError):
        build()


def test_numbered_list() -> None:
    text = outbound.numbered_list("Elegí un barrio:", ["Agronomía", "Almagro"])
    assert re.findall(r"^(\d+)\. (.+)$", text, re.M) == [("1", "Agronomía"), ("2", "Almagro")]


def test_list_rows_are_grouped_in_titled_sections_in_order() -> None:
    rows = (
        outbound.ListRow("/a", "A", section="Servicios"),
        outbound.ListRow("/b", "B", section="Servicios"),
        outbound.ListRow("/c", "C", "detalle", section="Atención"),
    )
    body = outbound.ListMessage(TO, "Elegí", "Ver opciones", rows).to_dict()
    assert validate_message(body) is None
    assert body["interactive"]["action"]["sections"] == [
        {"title": "Servicios", "rows": [{"id": "/a", "title": "A"}, {"id": "/b", "title": "B"}]},
        {"title": "Atención", "rows": [{"id": "/c", "title": "C", "description": "detalle"}]},
    ]
