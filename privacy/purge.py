"""``make purge`` / ``python -m privacy.purge``: forget everything older than the retention limit.

The limit is ``--days``, else ``RETENTION_DAYS``, else 90 days. What goes:

* conversations (Rasa's SQL tracker store, read from the profile's endpoints file:
  ``endpoints.yml``, or ``endpoints.prod.yml`` under ``PROFILE=prod`` with its variables):
  conversations idle since the limit go whole, older sessions of the others too;
* photos citizens sent (the WhatsApp connector's media folder, ``WHATSAPP_MEDIA_DIR``);
* WhatsApp delivery records and messages pending a replay (SQLite file
  ``WHATSAPP_DEDUP_SQLITE_PATH`` and, when set, Redis ``WHATSAPP_DEDUP_REDIS_URL``);
* the city services' personal fields of older appointments, service requests and emergency
  reports (anonymised through the operator endpoint ``POST /retention/purge`` at
  ``CITY_SERVICES_URL`` with ``CITY_SERVICES_OPERATOR_TOKEN``);
* the operators' console's conversations that ended (handed back or closed) before the limit,
  with their messages and the operators' attachments (``POST /api/retention/purge`` at
  ``CONSOLE_URL`` with ``CONSOLE_API_TOKEN``); open ones stay until someone answers them.

It prints what it deleted by kind, and exits with 1 when a store could not be purged (the
others are purged all the same).
"""
import argparse
import os
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

DEFAULT_RETENTION_DAYS = 90
ROOT = Path(__file__).resolve().parent.parent


def retention_days(argument: Optional[int], environ=os.environ) -> int:
    if argument is not None:
        return argument
    value = environ.get("RETENTION_DAYS")
    return int(value) if value else DEFAULT_RETENTION_DAYS


def default_endpoints(environ=os.environ) -> Path:
    name = "endpoints.prod.yml" if environ.get("PROFILE") == "prod" else "endpoints.yml"
    return ROOT / name


def tracker_store_from(endpoints: Path):
    """The profile's SQL tracker store, built from the same section Rasa reads."""
    from rasa.core.utils import AvailableEndpoints

    from privacy.tracker_store import ForgettingSQLTrackerStore

    config = AvailableEndpoints.read_endpoints(str(endpoints)).tracker_store
    kinds = ("sql", "privacy.tracker_store.forgettingsqltrackerstore")
    if config is None or str(config.type).lower() not in kinds:
        raise ValueError(f"{endpoints} has no SQL tracker store")
    return ForgettingSQLTrackerStore(host=config.url, **config.kwargs)


def _missing_sqlite_file(endpoints: Path) -> Optional[str]:
    """The SQLite tracker file when it does not exist yet (nothing stored, nothing to create)."""
    from rasa.core.utils import AvailableEndpoints

    config = AvailableEndpoints.read_endpoints(str(endpoints)).tracker_store
    kwargs = config.kwargs if config is not None else {}
    if kwargs.get("dialect", "sqlite") != "sqlite":
        return None
    db = str(kwargs.get("db", "rasa.db"))
    return None if os.path.exists(db) else db


def _purge_conversations(endpoints: Path, before: float) -> str:
    missing = _missing_sqlite_file(endpoints)
    if missing:
        return f"nothing stored yet ({missing} does not exist)"
    store = tracker_store_from(endpoints)
    try:
        counts = store.purge_older_than(before)
    finally:
        store.engine.dispose()
    return (
        f"{counts['conversations']} whole conversations, {counts['events']} events deleted"
        f" ({store.engine.url.render_as_string(hide_password=True)})"
    )


def _purge_media(before: float) -> str:
    from channels.whatsapp.media import purge_media
    from privacy.whatsapp_storage import WhatsAppStorage

    root = WhatsAppStorage.from_env().media_dir
    return f"{purge_media(root, before=before)} files deleted ({root})"


def _purge_deliveries(before: float) -> List[str]:
    from channels.whatsapp.dedup import purge_redis, purge_sqlite
    from privacy.whatsapp_storage import WhatsAppStorage

    storage = WhatsAppStorage.from_env()
    stores = [("SQLite " + storage.dedup_sqlite_path, purge_sqlite, storage.dedup_sqlite_path)]
    if storage.dedup_redis_url:
        stores.append(("Redis", purge_redis, storage.dedup_redis_url))
    lines = []
    for label, purge, where in stores:
        counts = purge(where, before=before)
        lines.append(
            f"{counts['dedup_records']} delivery records, {counts['pending_messages']}"
            f" pending messages deleted ({label})"
        )
    return lines


def _purge_city_services(days: int) -> str:
    from actions.clients.citizen_data import CitizenDataClient

    client = CitizenDataClient.from_env()
    counts = client.anonymise_older_than(days)
    return (
        f"{counts.appointments} appointments, {counts.service_requests} service requests,"
        f" {counts.incidents} emergency reports anonymised,"
        f" {counts.idempotency_replays} answers kept for retries deleted ({client.base_url})"
    )


def _purge_console(days: int) -> str:
    from actions.clients.handoffs import HandoffsClient

    client = HandoffsClient.from_env()
    return f"{client.purge_older_than(days)} ended handoffs deleted ({client.base_url})"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m privacy.purge",
        description="Delete or anonymise every personal record older than the retention limit.",
    )
    parser.add_argument(
        "--days", type=int, default=None,
        help=f"retention limit in days (default: RETENTION_DAYS, else {DEFAULT_RETENTION_DAYS})",
    )
    parser.add_argument(
        "--endpoints", type=Path, default=None,
        help="Rasa endpoints file of the tracker store (default: by PROFILE)",
    )
    args = parser.parse_args(argv)
    # Deprecation notices say nothing to whoever runs the purge (Rasa re-enables a few at import).
    warnings.simplefilter("ignore")
    days = retention_days(args.days)
    if days < 0:
        parser.error("--days must be 0 or more")
    before = time.time() - days * 86400
    endpoints = args.endpoints or default_endpoints()
    print(
        f"Purging what is older than {days} days (before "
        f"{datetime.fromtimestamp(before, timezone.utc):%Y-%m-%d %H:%M} UTC):"
    )
    failed = False
    steps = [
        ("conversations", lambda: [_purge_conversations(endpoints, before)]),
        ("photos", lambda: [_purge_media(before)]),
        ("WhatsApp deliveries", lambda: _purge_deliveries(before)),
        ("city services", lambda: [_purge_city_services(days)]),
        ("operators' console", lambda: [_purge_console(days)]),
    ]
    for kind, step in steps:
        try:
            for line in step():
                print(f"  {kind}: {line}")
        except Exception as error:  # one store down must not keep the others' data
            failed = True
            print(f"  {kind}: FAILED, nothing purged there ({type(error).__name__}: {error})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
