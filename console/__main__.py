"""``python -m console [--port 5060] [--interface 127.0.0.1]``: run the operators' console.

Refuses to start without CONSOLE_API_TOKEN, and, while there are no operators,
without CONSOLE_ADMIN_PASSWORD (for the first supervisor, ``admin``). Under PROFILE=prod
it also needs a PostgreSQL CONSOLE_DATABASE_URL and CONSOLE_COOKIE_SECURE=true.
"""
import argparse
import dataclasses
import logging
import os
import sys

from console.admin import ensure_admin
from console.app import ConfigurationError, create_app
from console.config import ConsoleSettings, production_problem


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m console", description=__doc__)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--interface", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("CONSOLE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    problem = production_problem(os.environ)
    if problem:
        sys.exit(f"Refusing to start: {problem}")
    settings = ConsoleSettings.from_env()
    settings = dataclasses.replace(settings, port=args.port or settings.port,
                                   interface=args.interface or settings.interface)
    try:
        app = create_app(settings)
        if ensure_admin(app.ctx.store, settings.admin_password):
            logging.getLogger("console").info("created supervisor 'admin' (CONSOLE_ADMIN_PASSWORD)")
    except (ConfigurationError, ValueError) as problem:
        sys.exit(f"Refusing to start: {problem}")
    app.run(host=settings.interface, port=settings.port, workers=1, access_log=False, debug=False,
            motd=False)
    if not app.ctx.serving:  # e.g. the port was taken: Sanic logs it and returns
        sys.exit(1)


if __name__ == "__main__":
    main()
