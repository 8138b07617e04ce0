import pytest

from actions.clients.errors import NotFound
from actions.clients.geocoding import GeocodingClient, Location


@pytest.fixture
def client(base_url):
    return GeocodingClient(base_url)


def test_locate_an_address(client):
    location = client.locate("Díaz Vélez 5044")
    assert isinstance(location, Location)
    assert location.barrio == "Caballito"
    assert (location.lat, location.lon) == pytest.approx((-34.6089728538415, -58.4379813617051))


def test_locate_a_corner(client):
    assert client.locate("Conde y Juramento").barrio == "Belgrano"


def test_unknown_address_is_not_found(client):
    with pytest.raises(NotFound):
        client.locate("Calle Inventada 123")


def test_barrio_centre(client):
    centre = client.barrio_centre("Villa Urquiza")
    assert centre.barrio == "Villa Urquiza" and -34.60 < centre.lat < -34.55
    with pytest.raises(NotFound):
        client.barrio_centre("Springfield")


def test_precision_says_whether_the_place_is_approximate(client):
    exact = client.locate("Díaz Vélez 5044")
    assert (exact.precision, exact.approximate) == ("exact", False)
    street = client.locate("corrientes")
    assert (street.precision, street.approximate) == ("street", True)
    computed = client.locate("Cabildo y Juramento")
    assert (computed.precision, computed.approximate) == ("corner_approx", True)


def test_a_geocoder_answer_without_precision_still_parses():
    location = Location.from_json({"lat": -34.6, "lon": -58.4, "address": "Suipacha 1156", "barrio": None})
    assert (location.precision, location.approximate) == (None, False)
