import re

import pytest

from actions.clients.errors import InvalidRequest, NotFound
from actions.clients.service_requests import ServiceRequest, ServiceRequestsClient


@pytest.fixture
def client(base_url):
    return ServiceRequestsClient(base_url)


def test_create_with_address_and_photo_then_get(client):
    created = client.create("bache", "Pozo grande en la esquina", "5491100000001",
                            address="Corrientes 1234", photo="media/2026/abc.jpg")
    assert isinstance(created, ServiceRequest)
    assert re.fullmatch(r"SOL-\d{6}", created.ticket)
    assert (created.category, created.status, created.has_photo) == ("bache", "received", True)
    assert created.created_at.utcoffset() is not None
    assert client.get(created.ticket) == created
    number = int(created.ticket[4:])
    assert client.get(f"sol {number}") == created
    assert client.get(str(number)) == created


def test_create_with_a_location_pin_and_no_photo(client):
    created = client.create("alumbrado", "Luz apagada", "5491100000001", lat=-34.60, lon=-58.38)
    assert created.has_photo is False and created.address is None


def test_status_change_is_seen_by_get(client, operator):
    created = client.create("residuos", "Basura acumulada", "5491100000001", address="Cuba 2000")
    operator("POST", f"/service-requests/{created.ticket}/status", {"status": "in_progress"})
    assert client.get(created.ticket).status == "in_progress"


def test_invalid_category_and_unknown_ticket(client):
    with pytest.raises(InvalidRequest) as raised:
        client.create("ovnis", "d", "x", address="Cuba 2000")
    assert raised.value.code == "invalid_category"
    with pytest.raises(NotFound):
        client.get("SOL-999999")
    with pytest.raises(InvalidRequest):
        client.get("DC-000001")
