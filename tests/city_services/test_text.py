"""Street names as the datasets publish them become what a citizen reads in an answer."""
import pytest

from city_services.text import street_es


@pytest.mark.parametrize(
    "published, shown",
    [
        ("RIVADAVIA AV.", "Av. Rivadavia"),
        ("CORDOBA AV", "Av. Cordoba"),
        ("Av, San Martin", "Av. San Martin"),
        ("SALGUERO, JERONIMO", "Jeronimo Salguero"),
        ("LAS HERAS GENERAL AV.", "Av. General Las Heras"),
        ("PAZ, GRAL. AV.", "Av. Gral. Paz"),
        ("CONDE", "Conde"),
        ("DE LA TORRE, LISANDRO", "Lisandro de la Torre"),
        ("  MALABIA  ", "Malabia"),
        ("GENERAL", "General"),
        ("", ""),
    ],
)
def test_street_names_read_the_way_people_write_them(published, shown):
    assert street_es(published) == shown
