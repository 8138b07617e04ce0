"""``python -m city_services``: run the reference service.

Host/port from CITY_SERVICES_HOST / CITY_SERVICES_PORT (127.0.0.1:5056),
database from CITY_SERVICES_DATABASE_URL (SQLite file var/city_services.sqlite3
under the repository root when unset). Under PROFILE=prod it refuses to start without its own
CITY_SERVICES_OPERATOR_TOKEN.
"""
import logging
import os
import sys

from city_services.app import create_app
from city_services.config import Settings, production_problem


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("CITY_SERVICES_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    problem = production_problem(os.environ)
    if problem:
        sys.exit(f"Refusing to start: {problem}")
    settings = Settings.from_env()
    app = create_app(settings)
    app.run(host=settings.host, port=settings.port, workers=1, access_log=False,
            debug=False, motd=False)
    if not app.ctx.serving:  # e.g. the port was taken: Sanic logs it and returns
        sys.exit(1)


if __name__ == "__main__":
    main()
