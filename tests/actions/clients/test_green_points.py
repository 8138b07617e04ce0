import pytest

from actions.clients.errors import InvalidRequest
from actions.clients.green_points import GreenPoint, GreenPointsClient

PLAZA_CASTELLI = (-34.5673114271266, -58.464634598031)


@pytest.fixture
def client(base_url):
    return GreenPointsClient(base_url)


def test_nearest_three_with_distance_materials_and_hours(client):
    points = client.nearest(*PLAZA_CASTELLI)
    assert len(points) == 3
    assert isinstance(points[0], GreenPoint)
    assert points[0].name == "Plaza Castelli" and points[0].distance_m < 1
    assert [p.distance_m for p in points] == sorted(p.distance_m for p in points)
    assert "pilas" in points[0].materials and isinstance(points[0].materials, tuple)
    assert points[0].hours and points[0].staffed is True and points[0].barrio == "Belgrano"


def test_material_filter(client):
    assert client.nearest(*PLAZA_CASTELLI, material="textiles") == []  # none in the dataset
    oil = client.nearest(*PLAZA_CASTELLI, material="aceite", limit=5)
    assert len(oil) == 5 and all("aceite" in p.materials for p in oil)


def test_invalid_material(client):
    with pytest.raises(InvalidRequest):
        client.nearest(*PLAZA_CASTELLI, material="uranio")
