"""Per-citizen rate limits: counted per citizen and kind, shared by processes, configurable."""
import multiprocessing
import uuid
from pathlib import Path

import pytest
import redis

from actions import rate_limits
from actions.rate_limits import (
    EMERGENCY,
    HANDOFF,
    LOOKUP,
    Limit,
    RateLimiter,
    RedisStore,
    SqliteStore,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_prefix():
    prefix = f"test:vecino:rate:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.fixture(params=["sqlite", "redis"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqliteStore(tmp_path / "var" / "rate_limits.sqlite3")
    return RedisStore(REDIS_URL, request.getfixturevalue("redis_prefix"))


def test_each_citizen_and_kind_has_its_own_budget(store):
    clock = Clock()
    limiter = RateLimiter(store, {LOOKUP: Limit(LOOKUP, 3, 60), HANDOFF: Limit(HANDOFF, 1, 60)}, clock)
    assert [limiter.hit("5491100000001", LOOKUP).allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.hit("5491100000001", LOOKUP)
    assert (refused.allowed, refused.response) == (False, "utter_rate_limited_lookup")
    assert 0 < refused.retry_after_seconds <= 60
    # another citizen, and another kind for the same citizen, are untouched
    assert limiter.hit("5491100000002", LOOKUP).allowed
    assert limiter.hit("5491100000001", HANDOFF).allowed
    assert not limiter.hit("5491100000001", HANDOFF).allowed


def test_the_next_window_starts_afresh(store):
    clock = Clock()
    limiter = RateLimiter(store, {EMERGENCY: Limit(EMERGENCY, 1, 60)}, clock)
    assert limiter.hit("rest:ana", EMERGENCY).allowed
    assert not limiter.hit("rest:ana", EMERGENCY).allowed
    clock.now += 60
    assert limiter.hit("rest:ana", EMERGENCY).allowed


def test_the_store_never_sees_the_phone_number(tmp_path, redis_prefix):
    path = tmp_path / "rate.sqlite3"
    RateLimiter(SqliteStore(path)).hit("5491155554444", LOOKUP)
    assert b"5491155554444" not in path.read_bytes()
    RateLimiter(RedisStore(REDIS_URL, redis_prefix)).hit("5491155554444", LOOKUP)
    keys = [k.decode() for k in redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}*")]
    assert len(keys) == 1 and "5491155554444" not in keys[0]


def test_redis_keys_expire_with_their_window(redis_prefix):
    RateLimiter(RedisStore(REDIS_URL, redis_prefix), {LOOKUP: Limit(LOOKUP, 5, 60)}).hit("x", LOOKUP)
    client = redis.Redis.from_url(REDIS_URL)
    (key,) = list(client.scan_iter(f"{redis_prefix}*"))
    assert 0 < client.ttl(key) <= 62


def _hammer(config, citizen, calls, results):
    # a separate process, like a second action-server worker, with its own connection
    limiter = rate_limits.from_env(config)
    results.put(sum(limiter.hit(citizen, LOOKUP).allowed for _ in range(calls)))


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_processes_share_one_budget(backend, tmp_path, redis_prefix):
    config = {"RATE_LIMIT_LOOKUP": "25/3600"}
    if backend == "sqlite":
        config["RATE_LIMIT_SQLITE_PATH"] = str(tmp_path / "shared.sqlite3")
    else:
        config.update(RATE_LIMIT_REDIS_URL=REDIS_URL, RATE_LIMIT_REDIS_PREFIX=redis_prefix)
    rate_limits.from_env(config)  # create the schema before the race
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_hammer, args=(config, "5491100000007", 20, results))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    allowed = sum(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
    assert allowed == 25, "60 calls from 3 processes, exactly the 25 allowed went through"


def test_limits_come_from_the_environment_with_defaults():
    limits = rate_limits.limits_from_env({"RATE_LIMIT_EMERGENCY": "2/600"})
    assert limits[EMERGENCY] == Limit(EMERGENCY, 2, 600)
    assert limits[LOOKUP] == rate_limits.DEFAULT_LIMITS[LOOKUP]
    assert limits[HANDOFF] == rate_limits.DEFAULT_LIMITS[HANDOFF]


@pytest.mark.parametrize("text", ["20", "0/60", "5/0", "a/b", "-1/60"])
def test_a_malformed_limit_is_refused_at_start(text):
    with pytest.raises(ValueError):
        rate_limits.limits_from_env({"RATE_LIMIT_LOOKUP": text})


def test_the_default_store_is_a_file_under_var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    limiter = rate_limits.from_env({})
    assert isinstance(limiter.store, SqliteStore)
    assert limiter.store.path == Path("var/rate_limits.sqlite3")
    assert (tmp_path / "var" / "rate_limits.sqlite3").exists()


def test_a_broken_store_lets_the_call_through():
    # Redis on a closed port: counting fails, and a citizen must not lose the service
    limiter = RateLimiter(RedisStore("redis://127.0.0.1:1/0"), {EMERGENCY: Limit(EMERGENCY, 1, 60)})
    assert all(limiter.hit("x", EMERGENCY).allowed for _ in range(3))


def test_every_kind_has_a_spanish_answer_in_the_domain(domain):
    for limit in rate_limits.DEFAULT_LIMITS.values():
        assert limit.response in domain["responses"], limit.response
    assert all(n in domain["responses"]["utter_rate_limited_emergency"][0]["text"]
               for n in ("911", "100", "107", "103")), "never silence in an emergency"


# ------------------------------------------------ the actions that are limited


def _one_allowed(rate_limiter, kind):
    rate_limiter.limits[kind] = Limit(kind, 1, 3600)


async def test_an_emergency_over_the_limit_still_gets_the_numbers(
    city_services, console_service, rate_limiter, dispatcher, tracker_factory, domain
):
    from actions.base import RETRY_SLOT, WRITE_KEY_SLOT
    from actions.clients.handoffs import HandoffsClient
    from actions.clients.incidents import IncidentsClient
    from actions.emergencies import FORM_SLOTS, ActionReportEmergency
    from tests.actions.flow_support import response_names, resets

    _one_allowed(rate_limiter, EMERGENCY)
    citizen = f"5491100{uuid.uuid4().int % 10**6:06d}"
    from tests.fixtures.console import CONSOLE_TOKEN

    action = ActionReportEmergency(IncidentsClient(city_services), HandoffsClient(console_service.url, CONSOLE_TOKEN))
    slots = {"emergency_type": "arbol_caido", "location": "Av. Corrientes 1234",
             "people_at_risk": False, "emergency_description": "un árbol corta la calle"}
    await action.run(dispatcher, tracker_factory(slots=slots, sender_id=citizen), domain)
    assert "utter_emergency_recorded" in response_names(dispatcher)
    dispatcher.messages.clear()
    events = await action.run(dispatcher, tracker_factory(slots=slots, sender_id=citizen), domain)
    assert response_names(dispatcher) == ["utter_rate_limited_emergency"]
    assert events == resets(*FORM_SLOTS, RETRY_SLOT, WRITE_KEY_SLOT)
    text = domain["responses"]["utter_rate_limited_emergency"][0]["text"]
    assert all(number in text for number in ("911", "100", "107", "103"))


async def test_handoffs_over_the_limit_are_not_enqueued(
    console_service, rate_limiter, dispatcher, tracker_factory, domain
):
    from actions.clients.handoffs import HandoffsClient
    from actions.handoff import ActionRequestHuman
    from tests.actions.flow_support import response_names
    from tests.fixtures.console import CONSOLE_TOKEN

    _one_allowed(rate_limiter, HANDOFF)
    citizen = f"5491100{uuid.uuid4().int % 10**6:06d}"
    action = ActionRequestHuman(HandoffsClient(console_service.url, CONSOLE_TOKEN))
    for text in ("quiero hablar con una persona", "una persona por favor"):
        await action.run(dispatcher, tracker_factory(text=text, sender_id=citizen), domain)
    assert response_names(dispatcher) == ["utter_handoff_queued", "utter_rate_limited_handoff"]
    assert len(console_service.handoffs_of(citizen)) == 1


async def test_listing_appointments_and_ticket_status_are_lookups(
    city_services, rate_limiter, dispatcher, tracker_factory, domain
):
    from actions.appointments import ActionListAppointments
    from actions.clients.appointments import AppointmentsClient
    from actions.clients.service_requests import ServiceRequestsClient
    from actions.service_requests import ActionCheckServiceRequest
    from tests.actions.flow_support import response_names

    rate_limiter.limits[LOOKUP] = Limit(LOOKUP, 2, 3600)
    citizen = f"5491100{uuid.uuid4().int % 10**6:06d}"
    listing = ActionListAppointments(AppointmentsClient(city_services))
    status = ActionCheckServiceRequest(ServiceRequestsClient(city_services))
    await listing.run(dispatcher, tracker_factory(sender_id=citizen), domain)
    await status.run(dispatcher, tracker_factory(slots={"ticket": "SOL-999999"}, sender_id=citizen), domain)
    await status.run(dispatcher, tracker_factory(slots={"ticket": "SOL-000001"}, sender_id=citizen), domain)
    await listing.run(dispatcher, tracker_factory(sender_id=citizen), domain)
    assert response_names(dispatcher) == [
        "utter_no_appointments", "utter_service_request_not_found",
        "utter_rate_limited_lookup", "utter_rate_limited_lookup",
    ]
    # another citizen is not affected
    dispatcher.messages.clear()
    await listing.run(dispatcher, tracker_factory(sender_id=citizen + "1"), domain)
    assert response_names(dispatcher) == ["utter_no_appointments"]


async def test_a_malformed_limit_in_the_environment_never_breaks_an_action(
    monkeypatch, dispatcher, tracker_factory
):
    from actions.base import rate_limited

    monkeypatch.setattr(rate_limits, "_shared", None)
    monkeypatch.setenv("RATE_LIMIT_LOOKUP", "veinte")
    assert await rate_limited(dispatcher, tracker_factory(), LOOKUP) is False
    assert dispatcher.messages == []
