import pytest

from actions.clients.ecobici import EcobiciClient, StationAvailability, plausible_coordinates

RETIRO_I = (-34.592424135701144, -58.37470989599143)


@pytest.fixture
def client(base_url):
    return EcobiciClient(base_url + "/ecobici/gbfs")


def test_nearest_stations_with_availability(client):
    stations = client.nearest(*RETIRO_I)
    assert len(stations) == 3
    assert isinstance(stations[0], StationAvailability)
    assert stations[0].station_id == "2" and stations[0].distance_m < 1
    assert [s.distance_m for s in stations] == sorted(s.distance_m for s in stations)
    assert all(s.bikes >= 0 and s.docks >= 0 for s in stations)


def test_availability_changes_are_seen(client, operator):
    operator("PUT", "/ecobici/stations/2/status", {"bikes": 0})
    assert client.nearest(*RETIRO_I, limit=1)[0].bikes == 0
    status = operator("PUT", "/ecobici/stations/2/status", {"bikes": 7, "docks": 5})
    nearest = client.nearest(*RETIRO_I, limit=1)[0]
    assert (nearest.bikes, nearest.docks) == (7, 5) == (status["num_bikes_available"],
                                                       status["num_docks_available"])


def test_repaired_station_is_found_where_it_really_is(client):
    plaza_roma = (-34.60299498843603, -58.368832321694654)  # its longitude is positive in the CSV
    assert client.nearest(*plaza_roma, limit=1)[0].station_id == "4"


@pytest.mark.parametrize(
    "lat, lon, expected",
    [(0, 0, None), (34.59, -58.41, (-34.59, -58.41)), (-34.6, 58.37, (-34.6, -58.37)),
     ("x", 1, None), (-31.4, -64.2, None)],
)
def test_plausible_coordinates(lat, lon, expected):
    assert plausible_coordinates(lat, lon) == expected


def test_from_env_switches_to_the_real_feed(monkeypatch):
    monkeypatch.setenv("ECOBICI_GBFS_URL", "https://transport.example/ecobici/gbfs")
    monkeypatch.setenv("ECOBICI_CLIENT_ID", "id")
    monkeypatch.setenv("ECOBICI_CLIENT_SECRET", "secret")
    monkeypatch.setenv("ECOBICI_INFORMATION_FEED", "stationInformation")
    client = EcobiciClient.from_env()
    assert client.base_url == "https://transport.example/ecobici/gbfs"
    assert client._credentials == {"client_id": "id", "client_secret": "secret"}
    assert client._information_feed == "stationInformation"
