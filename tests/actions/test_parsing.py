"""Table-driven tests of actions/parsing.py: no tracker, no network."""
import datetime as dt
from decimal import Decimal

import pytest

from actions import parsing
from actions.parsing import AFTERNOON, MORNING, DatePreference

MONDAY = dt.date(2026, 11, 23)  # injected "today": a Monday
D = dt.date


@pytest.mark.parametrize(
    "text, expected",
    [
        ("AB123CD", "AB123CD"),
        ("ab 123 cd", "AB123CD"),
        ("Ab-123-Cd", "AB123CD"),
        ("  ab.123.cd ", "AB123CD"),
        ("abc123", "ABC123"),
        ("ABC 123", "ABC123"),
        ("abc-123", "ABC123"),
        ("123ABC", "123ABC"),
        ("123 abc", "123ABC"),
        ("A123BCD", "A123BCD"),
        ("a 123 bcd", "A123BCD"),
        ("mi patente es ab 123 cd", "AB123CD"),
        ("la patente: GHT 345 gracias", "GHT345"),
        ("tengo una moto 321 xyz", "321XYZ"),
        ("", None),
        (None, None),
        ("hola", None),
        ("AB12CD", None),
        ("ABCD123", None),
        ("12345678", None),
        ("AB1234CD", None),
        ("A1B2C3", None),
        ("ññ123ññ", None),
    ],
)
def test_normalize_plate(text, expected):
    assert parsing.normalize_plate(text) == expected, f"plate {text!r} should give {expected!r}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("30123456", "30123456"),
        ("30.123.456", "30123456"),
        ("30 123 456", "30123456"),
        ("7.654.321", "7654321"),
        ("7654321", "7654321"),
        ("mi dni es 30.123.456", "30123456"),
        ("DNI 27123456 gracias", "27123456"),
        ("123456", None),
        ("123456789", None),
        ("0000000", None),
        ("00123456", None),
        ("30.123.45", None),
        ("AB123CD", None),
        ("tengo 30123456 y 27123456", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_dni(text, expected):
    assert parsing.normalize_dni(text) == expected, f"dni {text!r} should give {expected!r}"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ab 123 cd", ("plate", "AB123CD")),
        ("30.123.456", ("dni", "30123456")),
        ("123ABC", ("plate", "123ABC")),
        ("patente abc123", ("plate", "ABC123")),
        ("no sé", None),
        ("12", None),
    ],
)
def test_parse_vehicle_or_person(text, expected):
    assert parsing.parse_vehicle_or_person(text) == expected


@pytest.mark.parametrize("value, kind", [("AB123CD", "plate"), ("123ABC", "plate"), ("30123456", "dni")])
def test_identifier_kind(value, kind):
    assert parsing.identifier_kind(value) == kind


@pytest.mark.parametrize(
    "text, prefix, expected",
    [
        ("SOL-000123", "SOL", "SOL-000123"),
        ("sol 123", "SOL", "SOL-000123"),
        ("sol-123", "SOL", "SOL-000123"),
        ("123", "SOL", "SOL-000123"),
        ("mi reclamo es el nº 45", "SOL", "SOL-000045"),
        ("solicitud 77", "SOL", "SOL-000077"),
        ("dc 9", "DC", "DC-000009"),
        ("TUR-004321", "TUR", "TUR-004321"),
        ("tur4321", "TUR", "TUR-004321"),
        ("DC-000123", "SOL", None),
        ("0", "SOL", None),
        ("1234567", "SOL", None),
        ("sol 12 y sol 13", "SOL", None),
        ("no me acuerdo", "SOL", None),
        ("", "SOL", None),
    ],
)
def test_normalize_ticket(text, prefix, expected):
    assert parsing.normalize_ticket(text, prefix) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a la mañana", MORNING),
        ("por la mañana temprano", MORNING),
        ("a la tarde", AFTERNOON),
        ("el lunes a la tarde", AFTERNOON),
        ("a las 10", MORNING),
        ("a las 16", AFTERNOON),
        ("tipo 9:30", MORNING),
        ("15:00", AFTERNOON),
        ("mañana", None),
        ("el lunes", None),
        ("", None),
    ],
)
def test_parse_part_of_day(text, expected):
    assert parsing.parse_part_of_day(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hoy", DatePreference(D(2026, 11, 23), D(2026, 11, 23))),
        ("mañana", DatePreference(D(2026, 11, 24), D(2026, 11, 24))),
        ("Mañana a la mañana", DatePreference(D(2026, 11, 24), D(2026, 11, 24), MORNING)),
        ("para mañana a la tarde", DatePreference(D(2026, 11, 24), D(2026, 11, 24), AFTERNOON)),
        ("pasado mañana", DatePreference(D(2026, 11, 25), D(2026, 11, 25))),
        ("el lunes a la tarde", DatePreference(D(2026, 11, 30), D(2026, 11, 30), AFTERNOON)),
        ("el miércoles", DatePreference(D(2026, 11, 25), D(2026, 11, 25))),
        ("el MIERCOLES a las 9", DatePreference(D(2026, 11, 25), D(2026, 11, 25), MORNING)),
        ("el viernes que viene", DatePreference(D(2026, 11, 27), D(2026, 11, 27))),
        ("el viernes de la semana que viene", DatePreference(D(2026, 12, 4), D(2026, 12, 4))),
        ("sábado", DatePreference(D(2026, 11, 28), D(2026, 11, 28))),
        ("15/12", DatePreference(D(2026, 12, 15), D(2026, 12, 15))),
        ("el 15/12 a la tarde", DatePreference(D(2026, 12, 15), D(2026, 12, 15), AFTERNOON)),
        ("15-12-2026", DatePreference(D(2026, 12, 15), D(2026, 12, 15))),
        ("15/1", DatePreference(D(2027, 1, 15), D(2027, 1, 15))),
        ("3 de diciembre", DatePreference(D(2026, 12, 3), D(2026, 12, 3))),
        ("la semana que viene", DatePreference(D(2026, 11, 30), D(2026, 12, 6))),
        ("esta semana", DatePreference(D(2026, 11, 23), D(2026, 11, 29))),
        ("cuando sea", DatePreference(D(2026, 11, 23), D(2026, 12, 7))),
        ("a la tarde", DatePreference(D(2026, 11, 23), D(2026, 12, 7), AFTERNOON)),
        ("32/12", None),
        ("30/02", None),
        ("15/12/2020", None),
        ("1/1/2030", None),
        ("el día de la marmota", None),
        ("asdf", None),
        ("", None),
    ],
)
def test_parse_date_preference(text, expected):
    assert parsing.parse_date_preference(text, today=MONDAY) == expected, (
        f"{text!r} said on {MONDAY} should mean {expected}"
    )


def test_date_preference_round_trips_through_a_slot():
    pref = DatePreference(D(2026, 12, 15), D(2026, 12, 16), AFTERNOON)
    assert DatePreference.from_slot(pref.to_slot()) == pref
    plain = DatePreference(D(2026, 12, 15), D(2026, 12, 15))
    assert DatePreference.from_slot(plain.to_slot()) == plain


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Corrientes 1234", "Corrientes 1234"),
        ("av. de mayo al 500.", "av. de mayo al 500"),
        ("Corrientes y Callao", "Corrientes y Callao"),
        ("  Rivadavia   5000 ", "Rivadavia 5000"),
        ("Av. Santa Fe esquina Pueyrredón", "Av. Santa Fe esquina Pueyrredón"),
        ("santa fe esq. pueyrredon", "santa fe esq. pueyrredon"),
        ("juramento esq donado", "juramento esq donado"),
        ("baigorria casi campana", "baigorria casi campana"),
        ("rivadavia entre medrano y salguero", "rivadavia entre medrano y salguero"),
        ("Avda. del Campo N° 1301", "Avda. del Campo N° 1301"),
        ("av. rivadavia nro 4750", "av. rivadavia nro 4750"),
        ("lavalle altura 1600", "lavalle altura 1600"),
        ("Gral. Paz 5000", "Gral. Paz 5000"),
        ("hola", None),
        ("1234", None),
        ("", None),
        ("x" * 200 + " 12", None),
    ],
)
def test_normalize_address(text, expected):
    assert parsing.normalize_address(text) == expected


@pytest.mark.parametrize(
    "amount, expected",
    [
        (Decimal("12345.5"), "$ 12.345,50"),
        (Decimal("0"), "$ 0,00"),
        (Decimal("1234567.891"), "$ 1.234.567,89"),
        (Decimal("999"), "$ 999,00"),
    ],
)
def test_format_amount(amount, expected):
    assert parsing.format_amount(amount) == expected


@pytest.mark.parametrize(
    "meters, expected", [(350.2, "350 m"), (999.4, "999 m"), (1234, "1,2 km"), (None, "")]
)
def test_format_distance(meters, expected):
    assert parsing.format_distance(meters) == expected


def test_format_dates():
    assert parsing.format_date(D(2026, 12, 5)) == "05/12/2026"
    assert parsing.format_datetime(dt.datetime(2026, 12, 5, 9, 30)) == "05/12/2026 09:30"
    utc = dt.datetime(2026, 12, 5, 12, 30, tzinfo=dt.timezone.utc)
    assert parsing.format_datetime(utc) == "05/12/2026 09:30", "shown in Buenos Aires time"
    local = dt.datetime.fromisoformat("2026-12-05T09:30:00-03:00")
    assert parsing.format_datetime(local) == "05/12/2026 09:30"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hay olor a gas en el edificio", "escape_gas"),
        ("sale mucho humo del tercer piso", "incendio"),
        ("se cayeron unos cables en la esquina", "cables_caidos"),
        ("se cayó la pared de la casa de al lado", "derrumbe"),
        ("un árbol cayó sobre un auto", "arbol_caido"),
        ("se inundó toda la cuadra", "inundacion"),
        ("hay granizo y mucho viento", "tormenta"),
        ("no sé qué pasa", None),
        ("", None),
    ],
)
def test_parse_emergency_type(text, expected):
    assert parsing.parse_emergency_type(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("la luminaria está apagada", "alumbrado"),
        ("la calle está oscura, no anda el farol", "alumbrado"),
        ("hay un pozo enorme", "bache"),
        ("no pasó el camión de la basura", "residuos"),
        ("hay que podar el árbol de la vereda", "arbolado"),
        ("la vereda tiene baldosas rotas", "veredas"),
        ("el vecino pone música fuerte toda la noche", "ruido"),
        ("quiero quejarme", None),
    ],
)
def test_parse_request_category(text, expected):
    assert parsing.parse_request_category(text) == expected
