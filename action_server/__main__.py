"""``python -m action_server``: Vecino's action server on ACTIONS_INTERFACE:ACTIONS_PORT
(127.0.0.1:5055), answering only calls that carry ACTION_SERVER_TOKEN (scripts/run.sh sets it)."""
import argparse
import logging
import os
import sys

from action_server.app import ActionServerSettings, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, help="overrides ACTIONS_PORT")
    parser.add_argument("--interface", help="overrides ACTIONS_INTERFACE")
    args = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("ACTIONS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = ActionServerSettings.from_env()
    except ValueError as error:
        sys.exit(f"The action server did not start: {error}")
    if args.port:
        settings = ActionServerSettings(settings.token, settings.interface, args.port, settings.max_body_bytes)
    if args.interface:
        settings = ActionServerSettings(settings.token, args.interface, settings.port, settings.max_body_bytes)
    app = create_app(settings)
    app.run(host=settings.interface, port=settings.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
