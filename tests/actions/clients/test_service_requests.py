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
    assert client.get(created.ticket, "5491100000001") == created
    number = int(created.ticket[4:])
    assert client.get(f"sol {number}", "5491100000001") == created
    assert client.get(str(number), "5491100000001") == created


def test_only_the_author_sees_the_details(client):
    created = client.create("bache", "Pozo frente a mi casa", "5491100000021", address="Cuba 2100",
                            photo="media/2026/mine.jpg")
    other = client.get(created.ticket, "5491100000022")
    assert (other.ticket, other.category, other.status, other.owner) == (
        created.ticket, "bache", "received", False)
    assert (other.address, other.created_at, other.has_photo) == (None, None, False)


def test_a_repeated_idempotency_key_files_once(client):
    first = client.create("ruido", "Música fuerte", "5491100000023", address="Cuba 2200",
                          idempotency_key="turn-7")
    again = client.create("ruido", "Música fuerte", "5491100000023", address="Cuba 2200",
                          idempotency_key="turn-7")
    other = client.create("ruido", "Música fuerte", "5491100000023", address="Cuba 2200",
                          idempotency_key="turn-8")
    assert again == first and other.ticket != first.ticket


def test_create_with_a_location_pin_and_no_photo(client):
    created = client.create("alumbrado", "Luz apagada", "5491100000001", lat=-34.60, lon=-58.38)
    assert created.has_photo is False and created.address is None


def test_status_change_is_seen_by_get(client, operator):
    created = client.create("residuos", "Basura acumulada", "5491100000001", address="Cuba 2000")
    operator("POST", f"/service-requests/{created.ticket}/status", {"status": "in_progress"})
    assert client.get(created.ticket, "5491100000001").status == "in_progress"


def test_invalid_category_and_unknown_ticket(client):
    with pytest.raises(InvalidRequest) as raised:
        client.create("ovnis", "d", "x", address="Cuba 2000")
    assert raised.value.code == "invalid_category"
    with pytest.raises(NotFound):
        client.get("SOL-999999", "x")
    with pytest.raises(InvalidRequest):
        client.get("DC-000001", "x")
