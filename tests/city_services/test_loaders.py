"""The loaders on the real open-data files in city_services/data/raw/."""
import hashlib
from pathlib import Path

import pytest

from city_services import loaders
from city_services.barrios import BARRIOS

SHARED = Path("/work/shared/data")


@pytest.fixture(scope="module")
def results():
    return loaders.load_all()


def issues(result, action=None):
    return [i for i in result.issues if action is None or i.action == action]


@pytest.mark.parametrize("name", sorted(loaders.LOADERS))
def test_raw_files_are_unchanged_copies(name):
    shared = SHARED / name
    if not shared.exists():
        pytest.skip("shared data folder not mounted")
    ours = loaders.RAW_DIR / name
    assert hashlib.sha256(ours.read_bytes()).digest() == hashlib.sha256(shared.read_bytes()).digest(), (
        f"{ours} must be an unchanged copy of {shared}"
    )


def test_every_record_is_inside_the_city_with_an_official_barrio(results):
    for name, result in results.items():
        for record in result.records:
            assert loaders.in_city(record.lat, record.lon), f"{name}: {record}"
            assert record.barrio in BARRIOS, f"{name}: {record.barrio!r} is not an official barrio"


def test_hospitals_decimal_commas_and_lost_digit_latitudes(results):
    hospitals = results["hospitales.csv"]
    assert len(hospitals.records) == 36
    fixed = [i for i in issues(hospitals, "fixed") if "lost a digit" in i.reason]
    assert len(fixed) == 3, fixed
    pinero = next(r for r in hospitals.records if "PIÑERO" in r.name.upper())
    assert -34.65 < pinero.lat < -34.63
    durand = next(r for r in hospitals.records if "Durand" in r.name)
    assert (durand.address, durand.barrio, durand.kind) == ("Diaz Velez 5044", "Caballito", "hospital")
    assert "pediatría" in durand.specialties


def test_hospital_phone_formats_are_normalised(results):
    argerich = next(r for r in results["hospitales.csv"].records if "Argerich" in r.name)
    assert argerich.phones == ("4121-0700", "4121-0800")
    quinquela = next(r for r in results["hospitales.csv"].records if "Quinquela" in r.name)
    assert quinquela.phones == ("4360-3900", "4301-4870", "4301-4834", "4302-9492", "4302-9510")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("4639-8700 AL 05", ("4639-8700",)),
        ("4572-9520/6798/3581", ("4572-9520", "4572-6798", "4572-3581")),
        ("4982-5555 / 4982-5655 CONMUTADOR 4982-1050", ("4982-5555", "4982-5655", "4982-1050")),
        ("15-4068-4918", ("15-4068-4918",)),
        ("", ()),
    ],
)
def test_parse_phones(raw, expected):
    assert loaders.parse_phones(raw) == expected


def test_cesac_addresses_corners_and_specialties(results):
    cesac = results["cesac.csv"]
    assert len(cesac.records) == 43
    by_name = {r.name: r for r in cesac.records}
    assert by_name["CESAC N° 36"].address == "Mercedes 1371"
    assert (by_name["CESAC N° 25"].street, by_name["CESAC N° 25"].corner_street) == (
        "ANTARTIDA ARGENTINA AV.", "LETONIA")
    assert {"clínica médica", "pediatría", "odontología"} <= set(by_name["CESAC N° 39"].specialties)
    assert len([i for i in cesac.issues if i.reason == "no address published"]) == 4
    assert all(r.specialties for r in cesac.records)


def test_green_points_materials_wkt_and_the_altura_quirk(results):
    points = results["puntos-verdes.csv"]
    assert len(points.records) == 80
    castelli = next(r for r in points.records if r.source_id == "PV-073")
    assert castelli.lat == pytest.approx(-34.5673114271266)
    assert castelli.lon == pytest.approx(-58.464634598031)
    assert castelli.materials == ("pilas", "aceite", "vidrio", "plastico", "papel_carton",
                                  "electronicos", "metales")
    assert castelli.staffed is True
    assert sum(not r.staffed for r in points.records) == 22
    fadu = next(r for r in points.records if r.source_id == "PV-072")
    assert fadu.number == 2160 and fadu.address.endswith("2160")
    assert [i.reason for i in issues(points)] == ["address number 2560 differs from altura 2160"]
    assert {m for r in points.records for m in r.materials} <= set(loaders.MATERIALS)


def test_ecobici_broken_coordinates_are_fixed_or_dropped_with_reasons(results):
    stations = results["ecobici-estaciones.csv"]
    reasons = [(i.action, i.reason.split(" ")[0:2]) for i in stations.issues]
    assert sum(1 for i in stations.issues if i.reason == "coordinates 0;0") == 2
    assert any(i.reason.startswith("positive longitude") for i in issues(stations, "fixed")), reasons
    assert any(i.reason.startswith("positive latitude") for i in issues(stations, "fixed")), reasons
    assert len(stations.records) == 360 - 2
    ids = {r.station_id: r for r in stations.records}
    assert "181" not in ids and "392" not in ids  # the 0;0 rows
    plaza_roma = ids["4"]
    assert plaza_roma.lon == pytest.approx(-58.368832321694654)
    valle = ids["80"]  # leading space before the longitude
    assert valle.lon == pytest.approx(-58.43426217687043)
    assert ids["2"].address == "Av. Dr. José María Ramos Mejía 1300"  # ISO-8859-1 decoded


def test_police_stations_duplicated_barrio_column_and_mojibake(results):
    police = results["comisarias.csv"]
    assert len(police.records) == 57
    comisaria_35 = next(r for r in police.records if r.name == "Comisaria 35")
    assert comisaria_35.barrio == "Núñez"
    comisaria_41 = next(r for r in police.records if r.name == "Comisaria 41")
    assert comisaria_41.barrio == "Villa General Mitre"


def test_wkt_and_decimal_primitives():
    assert loaders.parse_wkt_point("POINT (-58.46 -34.56)") == (-34.56, -58.46)
    assert loaders.parse_wkt_point("LINESTRING (1 2, 3 4)") is None
    assert loaders.parse_decimal(" -58,5076") == pytest.approx(-58.5076)
    assert loaders.parse_decimal("") is None
