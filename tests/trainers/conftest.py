"""Fixtures of the trainers' tests: a tiny Rasa project copied to a temporary folder, and Rasa
conversations sent through the REST channel into an SQL tracker store."""
import contextlib
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TINY_PROJECT = FIXTURES / "tiny_project"
CACHE_VARIABLE = "RASA_CACHE_DIRECTORY"


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    """A writable copy of the tiny project (tests may break or extend it)."""
    target = tmp_path / "project"
    shutil.copytree(TINY_PROJECT, target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def converse(model_path: Path, tracker_store, conversations: Dict[str, List[str]]) -> None:
    """Send each conversation's messages through the REST channel of a real Rasa agent."""
    from rasa.core.agent import Agent
    from rasa.core.channels.rest import RestInput
    from rasa.core.run import configure_app

    agent = Agent.load(str(model_path), tracker_store=tracker_store)
    app = configure_app([RestInput()], enable_api=False, port=free_port(), use_uvloop=False)
    app.ctx.agent = agent
    for sender, texts in conversations.items():
        for text in texts:
            _, response = app.test_client.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            assert response.status == 200, f"REST channel answered {response.status} to {text!r}"


@pytest.fixture
def sqlite_store(tmp_path: Path):
    """A Rasa SQLTrackerStore on a fresh SQLite file; yields (store, SQLAlchemy URL)."""
    from rasa.core.tracker_store import SQLTrackerStore

    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(dialect="sqlite", db=str(path))
    yield store, f"sqlite:///{path}"
    store.engine.dispose()


@pytest.fixture
def postgres_store() -> Iterator:
    """A Rasa SQLTrackerStore on a fresh PostgreSQL database on 127.0.0.1:5432."""
    psycopg2 = pytest.importorskip("psycopg2")
    from rasa.core.tracker_store import SQLTrackerStore

    name = f"trainers_inbox_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                                 connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {error}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    store = SQLTrackerStore(dialect="postgresql", host="127.0.0.1", port=5432, db=name,
                            username="postgres")
    try:
        yield store, f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        store.engine.dispose()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def reported(tmp_path_factory) -> Path:
    """The tiny project after one `python -m trainers.report` run (which trains its model)."""
    from trainers import report as report_module

    project = tmp_path_factory.mktemp("report") / "project"
    shutil.copytree(TINY_PROJECT, project)
    with training_cache(project.parent / "cache"):
        assert report_module.main(["--proyecto", str(project)]) == 0
    return project


@contextlib.contextmanager
def training_cache(path: Path) -> Iterator[Path]:
    """Point Rasa's training cache at ``path`` (not the project's .rasa/cache) for a while."""
    previous = os.environ.get(CACHE_VARIABLE)
    os.environ[CACHE_VARIABLE] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            del os.environ[CACHE_VARIABLE]
        else:
            os.environ[CACHE_VARIABLE] = previous
