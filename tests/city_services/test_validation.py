import pytest

from city_services import validation as v
from city_services.text import fix_mojibake, fold


@pytest.mark.parametrize(
    "raw, plate",
    [("ab 123 cd", "AB123CD"), ("abc123", "ABC123"), ("ABC-123", "ABC123"), ("a123bcd", "A123BCD"),
     ("123 abc", "123ABC"), ("AB.123.CD", "AB123CD")],
)
def test_plate_normalisation(raw, plate):
    assert v.plate(raw) == plate


@pytest.mark.parametrize("raw", ["", "AB12CD", "ABCD123", "1234567", "AB123C", None])
def test_impossible_plates(raw):
    with pytest.raises(v.ApiError) as raised:
        v.plate(raw)
    assert (raised.value.status, raised.value.code) == (422, "invalid_plate")


@pytest.mark.parametrize("raw, dni", [("30.123.456", "30123456"), ("5123456", "5123456"),
                                      (" 30 123 456 ", "30123456")])
def test_dni(raw, dni):
    assert v.dni(raw) == dni


@pytest.mark.parametrize("raw", ["123", "123456789", "0000001", "30-123-456", "abc"])
def test_bad_dni(raw):
    with pytest.raises(v.ApiError):
        v.dni(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [("SOL-000123", "SOL-000123"), ("sol 123", "SOL-000123"), ("123", "SOL-000123"),
     ("sol%20123", "SOL-000123"), ("SOL123", "SOL-000123")],
)
def test_reference(raw, expected):
    assert v.reference(raw, "SOL") == expected


@pytest.mark.parametrize("raw", ["DC-000123", "SOL-1234567", "", "sol-abc"])
def test_bad_reference(raw):
    with pytest.raises(v.ApiError) as raised:
        v.reference(raw, "SOL")
    assert raised.value.status == 400


def test_numbers_reject_nan_booleans_and_out_of_range():
    for bad in ("nan", "inf", True, "91"):
        with pytest.raises(v.ApiError):
            v.number(bad, "lat", -90, 90)
    assert v.number("-34.6", "lat", -90, 90) == -34.6


def test_aware_datetime_requires_an_offset():
    assert v.as_ba(v.aware_datetime("2026-12-01T15:00:00Z", "t")) == "2026-12-01T12:00:00-03:00"
    with pytest.raises(v.ApiError):
        v.aware_datetime("2026-12-01T15:00:00", "t")


def test_text_helpers():
    assert fold("  Núñez, Av. Córdoba° ") == "NUNEZ AV CORDOBA"
    assert fix_mojibake("NUÃ‘EZ") == "NUÑEZ"
    assert fix_mojibake("Núñez") == "Núñez"


@pytest.mark.parametrize("raw", ["a\x00b", "\x00"])
def test_text_refuses_nul_characters_postgresql_cannot_store(raw):
    with pytest.raises(v.ApiError) as raised:
        v.text(raw, "description")
    assert (raised.value.status, raised.value.code) == (422, "invalid_description")


@pytest.mark.parametrize("raw", ["٣٠١٢٣٤٥٦", "３０１２３４５６"])  # Arabic-Indic, full-width digits
def test_dni_takes_only_ascii_digits(raw):
    with pytest.raises(v.ApiError):
        v.dni(raw)


@pytest.mark.parametrize("raw", ["SOL-٠٠٠١٢٣", "SOL-１２３"])
def test_references_take_only_ascii_digits(raw):
    with pytest.raises(v.ApiError):
        v.reference(raw, "SOL")
