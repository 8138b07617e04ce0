import threading
from datetime import date, timedelta

import pytest

from actions.clients.appointments import Appointment, AppointmentsClient, HealthCentre, Slot
from actions.clients.errors import Conflict, InvalidRequest, NotFound


@pytest.fixture
def client(base_url):
    return AppointmentsClient(base_url)


def next_weekdays(count=10):
    start = date.today() + timedelta(days=1)
    return start, start + timedelta(days=count + 4)


def free_slot(client, centre_id="H-26", specialty="pediatría", part_of_day=None, skip=0):
    date_from, date_to = next_weekdays()
    slots = client.free_slots(centre_id, specialty, date_from, date_to, part_of_day=part_of_day,
                              limit=skip + 1)
    assert len(slots) > skip, "the generated calendar has slots for the next two weeks"
    return slots[skip]


def test_find_centres_by_fuzzy_name(client):
    durand = client.find_centres(name="hospital durand")
    assert [c.id for c in durand] == ["H-26"]
    assert isinstance(durand[0], HealthCentre) and durand[0].kind == "hospital"
    assert durand[0].distance_m is None
    assert [c.name for c in client.find_centres(name="el Fernández")] == [
        "Hospital General de Agudos Dr. J. A. Fernandez"]
    assert [c.name for c in client.find_centres(name="cesac 12")] == ["CESAC N° 12"]
    assert client.find_centres(name="hospital inexistente") == []


def test_find_centres_by_barrio_and_specialty(client):
    centres = client.find_centres(barrio="la boca", specialty="odontologia", limit=10)
    assert centres and all(c.barrio == "La Boca" for c in centres)
    with pytest.raises(InvalidRequest):
        client.find_centres(barrio="Springfield")


def test_find_centres_nearest_first(client):
    centres = client.find_centres(near=(-34.6089, -58.4379), limit=3)  # at the Durand
    assert centres[0].id == "H-26"
    distances = [c.distance_m for c in centres]
    assert distances == sorted(distances) and distances[0] < 50


def test_specialties(client):
    specialties = client.specialties()
    assert "pediatría" in specialties and "clínica médica" in specialties
    assert specialties == sorted(specialties)


def test_free_slots_filters(client):
    date_from, date_to = next_weekdays()
    slots = client.free_slots("H-26", "Pediatria", date_from, date_to, part_of_day="afternoon",
                              limit=5)
    assert 0 < len(slots) <= 5
    for slot in slots:
        assert isinstance(slot, Slot)
        assert slot.centre_id == "H-26" and slot.specialty == "pediatría"
        assert 13 <= slot.starts_at.hour < 17 and slot.starts_at.weekday() < 5
        assert date_from <= slot.starts_at.date() <= date_to
    assert [s.starts_at for s in slots] == sorted(s.starts_at for s in slots)


def test_free_slots_unknown_centre_and_specialty(client):
    date_from, date_to = next_weekdays()
    with pytest.raises(NotFound):
        client.free_slots("H-0", "pediatría", date_from, date_to)
    with pytest.raises(InvalidRequest):
        client.free_slots("H-26", "astrología", date_from, date_to)


def test_book_list_and_cancel_frees_the_slot(client):
    slot = free_slot(client, centre_id="H-31", specialty="clínica médica")
    booked = client.book(slot.id, "31222333", "5491100000001")
    assert isinstance(booked, Appointment)
    assert booked.code.startswith("TUR-") and booked.status == "booked"
    assert (booked.starts_at, booked.specialty) == (slot.starts_at, slot.specialty)
    assert booked.code in [a.code for a in client.list("5491100000001")]
    # someone else (even knowing the DNI) neither sees nor cancels it
    assert booked.code not in [a.code for a in client.list("5491100000009")]
    with pytest.raises(NotFound):
        client.cancel(booked.code, "5491100000009")
    cancelled = client.cancel(booked.code, "5491100000001")
    assert cancelled.status == "cancelled"
    with pytest.raises(Conflict) as raised:
        client.cancel(booked.code, "5491100000001")
    assert raised.value.code == "already_cancelled"
    rebooked = client.book(slot.id, "32444555", "5491100000002")  # the slot is free again
    assert rebooked.code != booked.code and rebooked.status == "booked"


def test_double_booking_is_a_conflict(client):
    slot = free_slot(client, centre_id="H-32", specialty="pediatría")
    client.book(slot.id, "31222333", "5491100000001")
    with pytest.raises(Conflict) as raised:
        client.book(slot.id, "32444555", "5491100000002")
    assert raised.value.code == "slot_taken"
    date_from, date_to = next_weekdays()
    remaining = client.free_slots("H-32", "pediatría", date_from, date_to, limit=100)
    assert slot.id not in [s.id for s in remaining]


def test_concurrent_bookings_of_one_slot_only_one_wins(client, base_url):
    slot = free_slot(client, centre_id="H-24", specialty="cardiología")
    outcomes, barrier = [], threading.Barrier(6)

    def attempt(n):
        own = AppointmentsClient(base_url)  # one session per thread
        barrier.wait()
        try:
            outcomes.append(own.book(slot.id, f"3300000{n}", f"citizen-{n}").code)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes, key=lambda o: o == "conflict")[1:] == ["conflict"] * 5, outcomes
    assert outcomes.count("conflict") == 5


def test_unknown_slot_and_bad_dni(client):
    with pytest.raises(NotFound):
        client.book("99999999", "30123456", "x")
    with pytest.raises(InvalidRequest):
        client.book("1", "12", "x")
    with pytest.raises(NotFound):
        client.cancel("TUR-999999", "5491100000001")


def test_a_repeated_idempotency_key_books_once(client):
    slot = free_slot(client, centre_id="H-31", specialty="pediatría")
    first = client.book(slot.id, "31222334", "5491100000011", idempotency_key="turn-1")
    again = client.book(slot.id, "31222334", "5491100000011", idempotency_key="turn-1")
    assert again == first
    assert [a.code for a in client.list("5491100000011")] == [first.code]
