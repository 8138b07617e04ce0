#!/usr/bin/env bash
# Starts Vecino: the reference city services, the action server and Rasa (REST channel, plus
# WhatsApp when WHATSAPP_APP_SECRET is set). Trains first when the model is missing or stale.
#   MODE=server (default) | shell (chat in this terminal)
#   PROFILE=dev (default: SQLite, nothing external) | prod (PostgreSQL, Redis, RabbitMQ)
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${MODE:-server}
PROFILE=${PROFILE:-dev}
CONFIG=${CONFIG:-config.yml}
export RASA_PORT=${RASA_PORT:-5005}
export ACTIONS_PORT=${ACTIONS_PORT:-5055}
export CITY_SERVICES_PORT=${CITY_SERVICES_PORT:-5056}
export CITY_SERVICES_URL=${CITY_SERVICES_URL:-http://127.0.0.1:$CITY_SERVICES_PORT}
START_CITY_SERVICES=${START_CITY_SERVICES:-1}
RASA=.venv/bin/rasa
mkdir -p var models

pids=()
cleanup() { for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

is_up() { .venv/bin/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; }

wait_for() {  # url, name, seconds
  local i
  for ((i = 0; i < $3; i++)); do
    if is_up "$1"; then return 0; fi
    sleep 1
  done
  echo "$2 did not start within $3 s (see var/*.log)" >&2
  return 1
}

# The model of exactly these data, domain and config: reused when it exists (trainers/model.py).
echo "Checking the model (trains only when data, domain or config changed)..."
model=$(.venv/bin/python -m trainers.model --config "$CONFIG" | tail -n 1)

# `make shell` beside a running `make run` reuses its city services and action server.
if is_up "$CITY_SERVICES_URL/health"; then
  echo "The city services already answer on $CITY_SERVICES_URL"
elif [ "$START_CITY_SERVICES" = 1 ]; then
  echo "Starting the city services on $CITY_SERVICES_URL (log: var/city_services.log)"
  CITY_SERVICES_HOST=127.0.0.1 .venv/bin/python -m city_services > var/city_services.log 2>&1 &
  pids+=($!)
  wait_for "$CITY_SERVICES_URL/health" "The city services" 60
fi

if is_up "http://127.0.0.1:$ACTIONS_PORT/health"; then
  echo "The action server already answers on :$ACTIONS_PORT"
else
  echo "Starting the action server on :$ACTIONS_PORT (log: var/actions.log)"
  "$RASA" run actions --port "$ACTIONS_PORT" > var/actions.log 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$ACTIONS_PORT/health" "The action server" 90
fi

# Endpoints and credentials actually used, derived from the committed files.
if [ "$PROFILE" = prod ]; then
  export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}
  export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-5432} DB_NAME=${DB_NAME:-vecino}
  export DB_USER=${DB_USER:-postgres} DB_PASSWORD=${DB_PASSWORD:-}
  export REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT=${REDIS_PORT:-6379}
  export RABBITMQ_HOST=${RABBITMQ_HOST:-127.0.0.1} RABBITMQ_USER=${RABBITMQ_USER:-guest} RABBITMQ_PASSWORD=${RABBITMQ_PASSWORD:-guest}
  # WhatsApp redeliveries must be recognised by every Rasa process, across restarts.
  export WHATSAPP_DEDUP_REDIS_URL=${WHATSAPP_DEDUP_REDIS_URL:-redis://$REDIS_HOST:$REDIS_PORT/2}
  endpoints=endpoints.prod.yml
else
  sed "s#localhost:5055#localhost:$ACTIONS_PORT#" endpoints.yml > var/endpoints.yml
  endpoints=var/endpoints.yml
fi
cp credentials.yml var/credentials.yml
if [ -n "${WHATSAPP_APP_SECRET:-}" ]; then
  cat channels/whatsapp/credentials.yml >> var/credentials.yml
  # The webhook on a port of its own: its 200 does not wait for Rasa's turns
  # (docs/whatsapp.md). WHATSAPP_WEBHOOK_PORT= (empty) serves it on Rasa's port only.
  export WHATSAPP_WEBHOOK_PORT=${WHATSAPP_WEBHOOK_PORT-5007}
  if [ -n "$WHATSAPP_WEBHOOK_PORT" ]; then
    echo "WhatsApp channel enabled: webhook at http://<this host>:$WHATSAPP_WEBHOOK_PORT/webhooks/whatsapp/webhook"
    echo "  (also served at http://<this host>:$RASA_PORT/webhooks/whatsapp/webhook)"
  else
    echo "WhatsApp channel enabled: webhook at http://<this host>:$RASA_PORT/webhooks/whatsapp/webhook"
  fi
fi

if [ "$MODE" = shell ]; then
  # Its own port, so that it can run beside `make run`.
  "$RASA" shell --model "$model" --endpoints "$endpoints" --port "${SHELL_PORT:-5006}"
  exit
fi

cat <<MSG

Vecino is starting on http://localhost:$RASA_PORT (log below). Talk to it:
  - in another terminal:  make shell
  - over REST:  curl -s localhost:$RASA_PORT/webhooks/rest/webhook -H 'Content-Type: application/json' \\
                  -d '{"sender": "vecino-1", "message": "hola"}'
Stop with Ctrl+C.

MSG
"$RASA" run --model "$model" --enable-api --port "$RASA_PORT" --endpoints "$endpoints" --credentials var/credentials.yml &
pids+=($!)
wait "${pids[-1]}"
