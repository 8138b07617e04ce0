import re

import pytest

from actions.clients.errors import InvalidRequest, NotFound
from actions.clients.incidents import Incident, IncidentsClient


@pytest.fixture
def client(base_url):
    return IncidentsClient(base_url)


@pytest.mark.parametrize(
    "kind, at_risk, priority",
    [("escape_gas", False, "alta"), ("arbol_caido", False, "media"), ("arbol_caido", True, "alta"),
     ("tormenta", False, "baja")],
)
def test_report_computes_the_priority(client, kind, at_risk, priority):
    incident = client.report(kind, "Descripción", "5491100000001", at_risk,
                             address="Cabildo y Juramento")
    assert isinstance(incident, Incident)
    assert re.fullmatch(r"DC-\d{6}", incident.number)
    assert (incident.kind, incident.priority, incident.status) == (kind, priority, "received")
    assert incident.has_photo is False


def test_report_with_photo_and_pin_then_get(client):
    incident = client.report("inundacion", "Calle inundada", "5491100000001", False,
                             lat=-34.63, lon=-58.36, photo="media/x.jpg")
    assert incident.has_photo is True
    assert client.get(incident.number, "5491100000001") == incident
    other = client.get(incident.number, "5491100000002")
    assert (other.kind, other.status, other.owner) == ("inundacion", incident.status, False)
    assert (other.priority, other.created_at, other.has_photo) == (None, None, False)


def test_invalid_kind_and_unknown_number(client):
    with pytest.raises(InvalidRequest):
        client.report("meteorito", "d", "x", True)
    with pytest.raises(NotFound):
        client.get("DC-999999", "x")
