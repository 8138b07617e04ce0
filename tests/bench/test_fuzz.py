"""Hostile input against the running servers (bench/fuzz.py with a few hundred cases).

The servers run as `make run` starts them, each in its own process: the WhatsApp
webhook on Rasa's port and on its own, the project's REST channel, the action server and
the reference city services. Every port must answer every generated body without
a 5xx, refuse every unsigned or wrongly signed WhatsApp delivery, and stay up.
"""
from pathlib import Path
from typing import Iterator

import pytest

from bench import fuzz

pytestmark = pytest.mark.model

# generated cases per port in CI (plus the oversized bodies); `make bench` runs 10,000
CASES = {"whatsapp-rasa": 80, "whatsapp-own": 80, "rest": 40, "actions": 60, "city-services": 80}


@pytest.fixture(scope="module")
def servers(trained_model: Path) -> Iterator[fuzz.Servers]:
    running = fuzz.Servers(trained_model)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _target(port: str) -> fuzz.Target:
    (target,) = [t for t in fuzz.targets() if t.port == port]
    return target


@pytest.mark.parametrize("port", sorted(CASES))
def test_no_hostile_body_gets_a_5xx_and_the_server_stays_up(servers: fuzz.Servers, port: str) -> None:
    results = fuzz.Results()
    fuzz.fuzz(servers, _target(port), CASES[port], results)
    answered = sum(results.counts[port].values())
    assert answered >= CASES[port], f"only {answered} cases were sent"
    assert results.failures == [], (
        f"{port}: {len(results.failures)} failure(s):\n" + "\n".join(results.failures[:10])
        + f"\ncounts: {dict(results.counts[port])}\nserver log:\n{servers.log(port)}"
    )
