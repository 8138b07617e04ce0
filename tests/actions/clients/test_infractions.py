from datetime import date, datetime
from decimal import Decimal

import pytest

from actions.clients.errors import Conflict, InvalidRequest, NotFound
from actions.clients.infractions import Certificate, Infraction, InfractionsClient


@pytest.fixture
def client(base_url):
    return InfractionsClient(base_url)


def test_find_by_plate_returns_typed_fines(client):
    fines = client.find(plate="AB123CD")
    assert [f.status for f in fines].count("pending") == 3
    assert [f.status for f in fines].count("paid") == 1
    fine = fines[0]
    assert isinstance(fine, Infraction)
    assert isinstance(fine.date, datetime) and fine.date.utcoffset() is not None
    assert isinstance(fine.due_date, date) and isinstance(fine.amount, Decimal)
    assert fine.amount > 0 and fine.plate == "AB123CD" and fine.place and fine.reason
    with pytest.raises(AttributeError):
        fine.status = "paid"  # frozen


def test_find_by_dni_spans_the_owners_plates(client):
    plates = {f.plate for f in client.find(dni="30.123.456")}
    assert plates == {"AB123CD", "AD321KL"}


def test_find_normalises_the_plate_and_returns_empty_when_clean(client):
    assert client.find(plate="ae 789 hj") == []
    assert len(client.find(plate="ac-456-fg")) == 14


def test_find_rejects_impossible_plates(client):
    with pytest.raises(InvalidRequest) as raised:
        client.find(plate="12")
    assert raised.value.code == "invalid_plate"
    with pytest.raises(ValueError):
        client.find()


def test_certificate_is_refused_with_pending_debt(client):
    with pytest.raises(Conflict) as raised:
        client.issue_certificate(plate="AC456FG")
    assert raised.value.code == "pending_debt"


def test_certificate_issue_and_verify(client, base_url):
    certificate = client.issue_certificate(dni="28999111")  # only paid fines
    assert isinstance(certificate, Certificate)
    assert certificate.pdf_url == f"{base_url}/certificates/{certificate.code}.pdf"
    assert client.verify_certificate(certificate.code) == certificate


def test_verify_unknown_certificate(client):
    with pytest.raises(NotFound):
        client.verify_certificate("LD-NOPE0-NOPE0")
