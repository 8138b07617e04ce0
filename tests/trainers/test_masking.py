"""Masking of each kind of personal data in citizens' messages."""
import pytest

from trainers.masking import (
    ADDRESS,
    DNI,
    EMAIL,
    PHONE,
    PLATE,
    mask_sender,
    mask_text,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mi dni es 30.123.456", f"mi dni es {DNI}"),
        ("DNI 30123456 por favor", f"DNI {DNI} por favor"),
        ("documento 5.123.456", f"documento {DNI}"),
        ("dni 30 123 456", f"dni {DNI}"),
    ],
)
def test_dni_is_masked(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("llamame al +54 9 11 2345-6789", f"llamame al {PHONE}"),
        ("mi cel 15-2345-6789", f"mi cel {PHONE}"),
        ("el fijo es 4123-4567", f"el fijo es {PHONE}"),
        ("011 4123 4567 es mi teléfono", f"{PHONE} es mi teléfono"),
        ("mi whatsapp es 5491123456789", f"mi whatsapp es {PHONE}"),
    ],
)
def test_phone_numbers_are_masked(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text, sender",
    [
        ("escribime al 1123456789", "5491123456789"),
        ("mi número es 11 2345 6789", "5491123456789"),
        ("soy 5491123456789", "5491123456789"),
    ],
)
def test_the_senders_own_whatsapp_number_is_masked(text, sender):
    masked = mask_text(text, sender_id=sender)
    assert PHONE in masked and "6789" not in masked, masked


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tengo una multa con la patente abc123", f"tengo una multa con la patente {PLATE}"),
        ("patente ABC 123", f"patente {PLATE}"),
        ("el auto es AB 123 CD", f"el auto es {PLATE}"),
        ("ab123cd tiene multas?", f"{PLATE} tiene multas?"),
        ("la moto es 123ABC", f"la moto es {PLATE}"),
        ("moto A123BCD", f"moto {PLATE}"),
    ],
)
def test_plates_old_mercosur_and_motorcycles_are_masked(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("escribime a juan.perez@gmail.com", f"escribime a {EMAIL}"),
        ("mail: vecina+ba@correo.com.ar gracias", f"mail: {EMAIL} gracias"),
    ],
)
def test_emails_are_masked(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("vivo en Corrientes 1234", f"vivo en {ADDRESS}"),
        ("hay un bache en av de mayo al 500", f"hay un bache en {ADDRESS}"),
        ("calle Bolívar 1234", ADDRESS),
        ("se cayó un árbol en Corrientes y Callao", f"se cayó un árbol en {ADDRESS}"),
        ("vivo en lavalle 900", f"vivo en {ADDRESS}"),
        ("luminaria rota en rivadavia al 3000", f"luminaria rota en {ADDRESS}"),
    ],
)
def test_street_addresses_are_masked(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "quiero turno para el 15/12 a las 10:30",
        "el reclamo SOL-000123 sigue abierto",
        "mi reclamo sol 123",
        "son 500 pesos?",
        "las 100 cuadras",
        "necesito 2 turnos para el lunes",
        "quiero sacar turno en el hospital Durand",
        "Hola quiero info de ecobici",
    ],
)
def test_what_is_not_personal_data_stays(text):
    assert mask_text(text) == text


def test_entities_found_by_the_nlu_are_masked_by_offset():
    text = "dejé el auto en la puerta del club"
    entities = [{"entity": "address", "start": 16, "end": 34, "value": "la puerta del club"}]
    assert mask_text(text, entities) == f"dejé el auto en {ADDRESS}"


def test_entities_that_are_not_personal_data_stay():
    text = "turno de pediatría en el Durand"
    entities = [{"entity": "specialty", "start": 9, "end": 18, "value": "pediatría"}]
    assert mask_text(text, entities) == text


def test_sender_pseudonym_is_stable_per_key_and_hides_the_number():
    first = mask_sender("5491123456789", b"k1")
    assert first == mask_sender("5491123456789", b"k1")
    assert first != mask_sender("5491123456789", b"k2")
    assert first != mask_sender("5491198765432", b"k1")
    assert "5491123456789" not in first and first.startswith("conv-")
