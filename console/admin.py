"""The console's command line.

``python -m console.admin add-operator --username X --role operator --areas a,b``
reads the password from stdin (never from the command line, where ``ps`` shows it).
``python -m console.admin purge [--days N]`` forgets handoffs that ended more than N
days ago (default RETENTION_DAYS, else 90), with their messages and operators' uploads.
"""
import argparse
import getpass
import os
import sys
from datetime import timedelta
from typing import List, Optional

from city_services.db import Database
from console import auth, media
from console.areas import load_areas
from console.clock import to_text, utc_now
from console.config import ConsoleSettings
from console.store import Refused, Store
from console.web import validate_new_operator


def ensure_admin(store: Store, password: Optional[str]) -> bool:
    """Creates supervisor ``admin`` when there are no operators at all; True if created.

    Raises ValueError when there are none and no password to give it."""
    if store.operator_count() > 0:
        return False
    if not password:
        raise ValueError("there are no operators and CONSOLE_ADMIN_PASSWORD is not set")
    store.create_operator("admin", auth.hash_password(password), "supervisor", (), None)
    return True


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-operator", help="create an operator (password from stdin)")
    add.add_argument("--username", required=True)
    add.add_argument("--role", choices=("operator", "supervisor"), default="operator")
    add.add_argument("--areas", default="", help="comma-separated area keys of console/areas.yml")
    purge = commands.add_parser("purge", help="forget handoffs that ended more than --days ago")
    purge.add_argument("--days", type=int, default=int(os.environ.get("RETENTION_DAYS") or 90))
    args = parser.parse_args(argv)

    settings = ConsoleSettings.from_env()
    if args.command == "purge":
        return purge_ended(settings, args.days)
    book = load_areas(settings.areas_file)
    areas = [a.strip() for a in args.areas.split(",") if a.strip()]
    unknown = [a for a in areas if a not in book.areas]
    if unknown:
        print(f"unknown areas: {', '.join(unknown)} (known: {', '.join(book.areas)})", file=sys.stderr)
        return 2
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    problem = validate_new_operator(args.username, password, args.role)
    if problem:
        print(f"refused: {problem}", file=sys.stderr)
        return 2
    store = Store(Database(settings.database_url))
    store.initialise()
    try:
        store.create_operator(args.username, auth.hash_password(password), args.role, areas, None)
    except Refused as refused:
        print(f"refused: {refused.code}", file=sys.stderr)
        return 1
    finally:
        store.database.close()
    print(f"operator {args.username} created")
    return 0


def purge_ended(settings: ConsoleSettings, days: int) -> int:
    if days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    store = Store(Database(settings.database_url))
    try:
        store.initialise()
        count, uploads = store.purge(to_text(utc_now() - timedelta(days=days)))
    finally:
        store.database.close()
    media.delete_uploads(settings.upload_dir, uploads)
    print(f"purged {count} handoff(s) ended more than {days} day(s) ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
