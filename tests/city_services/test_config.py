"""city_services/config.py: production never runs with the operator token of this repository."""
import subprocess
import sys
from pathlib import Path

import pytest

from city_services.config import DEFAULT_OPERATOR_TOKEN, production_problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("token", [None, "", DEFAULT_OPERATOR_TOKEN])
def test_production_refuses_the_default_operator_token(token):
    env = {"PROFILE": "prod", **({"CITY_SERVICES_OPERATOR_TOKEN": token} if token is not None else {})}
    assert "CITY_SERVICES_OPERATOR_TOKEN" in production_problem(env)


def test_production_accepts_its_own_token_and_development_the_default():
    assert production_problem({"PROFILE": "prod", "CITY_SERVICES_OPERATOR_TOKEN": "a-real-token"}) is None
    assert production_problem({}) is None
    assert production_problem({"PROFILE": "dev"}) is None


def test_the_service_exits_with_a_clear_message():
    done = subprocess.run(
        [sys.executable, "-m", "city_services"], cwd=ROOT, env={"PROFILE": "prod", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "Refusing to start" in done.stderr and "CITY_SERVICES_OPERATOR_TOKEN" in done.stderr
