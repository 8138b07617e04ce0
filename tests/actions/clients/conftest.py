"""Client tests run against the real reference service on SQLite and on PostgreSQL."""
import pytest
import requests


@pytest.fixture(params=["sqlite", "postgresql"])
def base_url(request) -> str:
    fixture = "city_services" if request.param == "sqlite" else "city_services_pg"
    return request.getfixturevalue(fixture)


@pytest.fixture
def operator(base_url, operator_token):
    """Calls the operator API (not part of the clients) to set up scenarios."""

    def call(method: str, path: str, body=None):
        response = requests.request(
            method, base_url + path, json=body, timeout=10,
            headers={"Authorization": f"Bearer {operator_token}"},
        )
        assert response.status_code < 300, response.text
        return response.json()

    return call
