"""The reference geocoder, built from the real datasets' addresses."""
import pytest

from city_services import loaders
from city_services.geo import Geocoder, NotFound, haversine_m, street_key
from city_services.seed import _address_points

COLUMNS = ("source", "street", "number", "corner_street", "barrio", "lat", "lon")


@pytest.fixture(scope="module")
def geocoder():
    rows = [dict(zip(COLUMNS, row)) for row in _address_points(loaders.load_all())]
    return Geocoder(rows)


def test_street_key_ignores_order_accents_titles_and_particles():
    assert street_key("CALDERON DE LA BARCA, PEDRO") == street_key("Pedro Calderón de la Barca")
    assert street_key("CORDOBA AV.") == street_key("Avenida Córdoba") == ("CORDOBA",)
    assert street_key("24 DE NOVIEMBRE") == ("24", "NOVIEMBRE")


def test_exact_address_from_the_datasets(geocoder):
    found = geocoder.locate("Calderón de la Barca 1550")
    assert (found.precision, found.barrio) == ("exact", "Monte Castro")
    assert (found.lat, found.lon) == pytest.approx((-34.6253367952668, -58.50761514092))


def test_interpolation_between_known_numbers_on_the_same_street(geocoder):
    low = geocoder.locate("Av. Corrientes 100")
    high = geocoder.locate("Av. Corrientes 420")
    middle = geocoder.locate("corrientes al 260")
    assert middle.precision == "interpolated"
    assert middle.address == "Av. Corrientes 260"
    assert min(low.lat, high.lat) <= middle.lat <= max(low.lat, high.lat)
    assert min(low.lon, high.lon) <= middle.lon <= max(low.lon, high.lon)
    assert haversine_m(low.lat, low.lon, middle.lat, middle.lon) == pytest.approx(
        haversine_m(middle.lat, middle.lon, high.lat, high.lon), rel=0.01)


def test_misspelt_street_is_matched(geocoder):
    assert geocoder.locate("Corientes 300").address == "Av. Corrientes 300"


def test_corner_from_a_dataset_record_and_from_nearest_points(geocoder):
    known = geocoder.locate("Conde y Juramento")
    assert (known.precision, known.barrio) == ("corner", "Belgrano")
    assert (known.lat, known.lon) == pytest.approx((-34.5673114271266, -58.464634598031))
    swapped = geocoder.locate("juramento esquina conde")
    assert (swapped.lat, swapped.lon) == pytest.approx((known.lat, known.lon))
    computed = geocoder.locate("Cabildo y Juramento")
    assert computed.precision == "corner_approx" and computed.barrio == "Belgrano"


def test_barrio_fallback_and_barrio_centre(geocoder):
    assert geocoder.locate("Palermo").precision == "barrio"
    centre = geocoder.barrio_centre("nuñez")
    assert centre.barrio == "Núñez"
    assert geocoder.locate("Calle Inventada 123, Núñez").barrio == "Núñez"
    with pytest.raises(NotFound):
        geocoder.barrio_centre("Springfield")


# Avenida de Mayo is in none of the shipped datasets: it stays unknown rather
# than being matched to "25 de Mayo" or another street.
@pytest.mark.parametrize("text", ["Calle Inventada 123", "xx y yy", "", "Av. de Mayo 500"])
def test_unknown_addresses_are_not_found(geocoder, text):
    with pytest.raises(NotFound):
        geocoder.locate(text)


def test_every_barrio_has_a_centroid_inside_the_city(geocoder):
    from city_services.barrios import BARRIOS

    missing = [b for b in BARRIOS if b not in geocoder.centroids]
    assert missing == [], f"barrios without reference points: {missing}"
    for lat, lon in geocoder.centroids.values():
        assert loaders.in_city(lat, lon)


def test_corner_from_the_crossing_of_the_streets_fitted_lines(geocoder):
    # No record holds Triunvirato y Monroe: the two streets' fitted lines cross there.
    found = geocoder.locate("triunvirato y monroe")
    assert found.precision == "corner_approx"
    assert found.barrio == "Villa Urquiza"


def test_parallel_streets_have_no_corner(geocoder):
    # Lavalle and Rivadavia never meet: no crossing, no invented corner.
    with pytest.raises(NotFound):
        geocoder.locate("Lavalle y Rivadavia")


@pytest.mark.parametrize("text", ["Conde casi Juramento", "conde entre juramento y echeverria"])
def test_casi_and_entre_name_the_corner_with_the_first_cross_street(geocoder, text):
    found = geocoder.locate(text)
    assert found.precision == "corner"
    assert (found.lat, found.lon) == pytest.approx((-34.5673114271266, -58.464634598031))


def test_number_between_cross_streets_uses_the_number(geocoder):
    found = geocoder.locate("Calderón de la Barca 1550 entre Santo Tomé y Lascano")
    assert (found.precision, found.barrio) == ("exact", "Monte Castro")


def test_known_street_without_a_number_is_placed_approximately(geocoder):
    found = geocoder.locate("corrientes")
    assert found.precision == "street"
    assert found.address == "Av. Corrientes"


def test_a_barrio_name_alone_is_the_barrio_even_if_a_street_shares_it(geocoder):
    found = geocoder.locate("nuñez")
    assert (found.precision, found.barrio) == ("barrio", "Núñez")


@pytest.mark.parametrize("text", ["Av. 24 de Noviembre 1679", "24 de noviembre al 1679", "24 de Noviembre N° 1679"])
def test_a_street_whose_name_starts_with_a_number(geocoder, text):
    found = geocoder.locate(text)
    assert (found.precision, found.address) == ("exact", "24 de Noviembre 1679")


def test_entre_inside_a_street_name_is_not_a_between(geocoder):
    # Entre Ríos is in none of the datasets: not found, never "Av. y Ríos".
    with pytest.raises(NotFound):
        geocoder.locate("Av. Entre Ríos y Moreno")
