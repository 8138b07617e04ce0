#!/usr/bin/env bash
# Starts Vecino: the reference city services, the action server, the operators' console and Rasa
# (REST channel, plus WhatsApp when WHATSAPP_APP_SECRET is set). Trains first when the model is missing or stale.
#   MODE=server (default) | shell (chat in this terminal) | actions (only the action server)
#        | purge (the retention purge on this profile's stores: make purge)
#   PROFILE=dev (default: SQLite, nothing external) | prod (PostgreSQL, Redis, RabbitMQ)
#   MODEL=models/x.tar.gz uses that model as is (never trains)
# Every port listens on 127.0.0.1 unless RASA_INTERFACE / ACTIONS_INTERFACE say otherwise; Rasa's
# HTTP API needs RASA_API_TOKEN and the action server ACTION_SERVER_TOKEN (generated into
# var/secrets/ when unset). docs/security.md, "Ports and tokens".
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${MODE:-server}
PROFILE=${PROFILE:-dev}
CONFIG=${CONFIG:-config.yml}
export PROFILE
export RASA_PORT=${RASA_PORT:-5005}
export RASA_INTERFACE=${RASA_INTERFACE:-127.0.0.1}
export ACTIONS_PORT=${ACTIONS_PORT:-5055}
export ACTIONS_INTERFACE=${ACTIONS_INTERFACE:-127.0.0.1}
export CITY_SERVICES_PORT=${CITY_SERVICES_PORT:-5056}
export CITY_SERVICES_URL=${CITY_SERVICES_URL:-http://127.0.0.1:$CITY_SERVICES_PORT}
START_CITY_SERVICES=${START_CITY_SERVICES:-1}
RASA=.venv/bin/rasa
PY=.venv/bin/python
mkdir -p var models

pids=()
cleanup() { for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

is_up() { "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; }

wait_for() {  # url, name, seconds
  local i
  for ((i = 0; i < $3; i++)); do
    if is_up "$1"; then return 0; fi
    sleep 1
  done
  echo "$2 did not start within $3 s (see var/*.log)" >&2
  return 1
}

# A secret from the environment, or else a random one kept in var/secrets/<file> (mode 600) and
# reused by every later run, so that `make shell` and `make actions` agree with `make run`.
local_secret() {  # variable, file
  local name=$1 file=var/secrets/$2
  [ -n "${!name:-}" ] && { export "${name?}"; return 0; }
  (umask 077 && mkdir -p var/secrets)
  if [ ! -s "$file" ]; then
    (umask 077 && "$PY" -c "import secrets; print(secrets.token_hex(32))" > "$file")
  fi
  chmod 600 "$file"
  printf -v "$name" '%s' "$(cat "$file")"
  export "${name?}"
  echo "$name is not set: using the one in $file"
}

refuse() { echo "Refusing to start: $*" >&2; exit 2; }

local_secret ACTION_SERVER_TOKEN action_server_token
# The operators' console (console/): its internal API takes handoffs from the action server and
# citizens' messages from the WhatsApp connector behind CONSOLE_API_TOKEN.
export CONSOLE_PORT=${CONSOLE_PORT:-5060}
export CONSOLE_INTERFACE=${CONSOLE_INTERFACE:-127.0.0.1}
export CONSOLE_URL=${CONSOLE_URL:-http://127.0.0.1:$CONSOLE_PORT}
START_CONSOLE=${START_CONSOLE:-1}
local_secret CONSOLE_API_TOKEN console_api_token
# Sanic reads SANIC_* variables into its config: Rasa's port takes bodies up to the same size as
# the WhatsApp webhook's own port (Sanic's default is 100 MB).
export SANIC_REQUEST_MAX_SIZE=${SANIC_REQUEST_MAX_SIZE:-$("$PY" -c "from channels.whatsapp.webhook_server import MAX_BODY_BYTES; print(MAX_BODY_BYTES)")}

if [ "$MODE" = actions ]; then
  echo "Starting the action server on $ACTIONS_INTERFACE:$ACTIONS_PORT"
  trap - EXIT INT TERM
  exec "$PY" -m action_server --port "$ACTIONS_PORT" --interface "$ACTIONS_INTERFACE"
fi

if [ "$PROFILE" = prod ]; then
  # Production never runs on the well-known defaults of a fresh install.
  [ -n "${DB_PASSWORD:-}" ] || refuse "PROFILE=prod needs DB_PASSWORD, the PostgreSQL password"
  [ -n "${REDIS_PASSWORD:-}" ] || refuse "PROFILE=prod needs REDIS_PASSWORD (Redis requirepass)"
  case "${RABBITMQ_PASSWORD:-}" in
    "" | guest) refuse "PROFILE=prod needs RABBITMQ_PASSWORD, a RabbitMQ password other than guest" ;;
  esac
  if [ "$START_CITY_SERVICES" = 1 ]; then  # the reference city services check their own token
    problem=$("$PY" -c "import os; from city_services.config import production_problem; print(production_problem(os.environ) or '')")
    [ -z "$problem" ] || refuse "$problem (or START_CITY_SERVICES=0 with the city's real systems)"
  fi
fi

# Endpoints and credentials actually used, derived from the committed files.
if [ "$PROFILE" = prod ]; then
  export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}
  export DB_HOST=${DB_HOST:-127.0.0.1} DB_PORT=${DB_PORT:-5432} DB_NAME=${DB_NAME:-vecino}
  export DB_USER=${DB_USER:-postgres} DB_PASSWORD DB_SSLMODE=${DB_SSLMODE:-prefer}
  export REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT=${REDIS_PORT:-6379} REDIS_PASSWORD REDIS_USE_SSL=${REDIS_USE_SSL:-false}
  # TLS to RabbitMQ: RABBITMQ_HOST=amqps://<host> (port 5671; CA as ?cafile=...), client
  # certificates through Rasa's RABBITMQ_SSL_CLIENT_CERTIFICATE / RABBITMQ_SSL_CLIENT_KEY.
  export RABBITMQ_HOST=${RABBITMQ_HOST:-127.0.0.1} RABBITMQ_USER=${RABBITMQ_USER:-vecino} RABBITMQ_PASSWORD
  case "$RABBITMQ_HOST" in amqps://*) default_amqp_port=5671 ;; *) default_amqp_port=5672 ;; esac
  export RABBITMQ_PORT=${RABBITMQ_PORT:-$default_amqp_port}
  # WhatsApp redeliveries must be recognised by every Rasa process, across restarts.
  redis_scheme=redis; [ "$REDIS_USE_SSL" = true ] && redis_scheme=rediss
  redis_secret=$("$PY" -c "import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=''))" "$REDIS_PASSWORD")
  export WHATSAPP_DEDUP_REDIS_URL=${WHATSAPP_DEDUP_REDIS_URL:-$redis_scheme://:$redis_secret@$REDIS_HOST:$REDIS_PORT/2}
  # Rasa passes use_ssl on as it reads it, and the text "false" would be true.
  case "$REDIS_USE_SSL" in
    true) sed 's/^  use_ssl: false/  use_ssl: true/' endpoints.prod.yml > var/endpoints.yml ;;
    false) cp endpoints.prod.yml var/endpoints.yml ;;
    *) refuse "REDIS_USE_SSL must be true or false, not $REDIS_USE_SSL" ;;
  esac
  endpoints=var/endpoints.yml
else
  sed "s#localhost:5055#localhost:$ACTIONS_PORT#" endpoints.yml > var/endpoints.yml
  endpoints=var/endpoints.yml
fi

# The model of exactly these data, domain and config: reused when it exists (trainers/model.py).
if [ "$MODE" = purge ]; then
  model=""
elif [ -n "${MODEL:-}" ]; then
  [ -f "$MODEL" ] || refuse "MODEL=$MODEL is not a file"
  model=$MODEL
else
  echo "Checking the model (trains only when data, domain or config changed)..."
  model=$("$PY" -m trainers.model --config "$CONFIG" | tail -n 1)
fi

# `make shell` beside a running `make run` reuses its city services and action server.
if is_up "$CITY_SERVICES_URL/health"; then
  echo "The city services already answer on $CITY_SERVICES_URL"
elif [ "$START_CITY_SERVICES" = 1 ]; then
  echo "Starting the city services on $CITY_SERVICES_URL (log: var/city_services.log)"
  CITY_SERVICES_HOST=127.0.0.1 "$PY" -m city_services > var/city_services.log 2>&1 &
  pids+=($!)
  wait_for "$CITY_SERVICES_URL/health" "The city services" 60
fi

# The console hands conversations back to the bot through Rasa's HTTP API.
local_secret RASA_API_TOKEN rasa_api_token
export RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_PORT}
if [ "$PROFILE" = prod ]; then
  db_secret=$("$PY" -c "import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=''))" "$DB_PASSWORD")
  export CONSOLE_DATABASE_URL=${CONSOLE_DATABASE_URL:-postgresql://$DB_USER:$db_secret@$DB_HOST:$DB_PORT/$DB_NAME?sslmode=$DB_SSLMODE}
  export CONSOLE_COOKIE_SECURE=${CONSOLE_COOKIE_SECURE:-true}
fi
if { [ "$MODE" = server ] || [ "$MODE" = purge ]; } && [ "$START_CONSOLE" = 1 ]; then
  if is_up "$CONSOLE_URL/api/health"; then
    echo "The operators' console already answers on $CONSOLE_URL"
  else
    # the first supervisor, "admin", gets this password (change it in the console)
    local_secret CONSOLE_ADMIN_PASSWORD console_admin_password
    echo "Starting the operators' console on http://$CONSOLE_INTERFACE:$CONSOLE_PORT (log: var/console.log)"
    "$PY" -m console --port "$CONSOLE_PORT" --interface "$CONSOLE_INTERFACE" > var/console.log 2>&1 &
    pids+=($!)
    wait_for "$CONSOLE_URL/api/health" "The operators' console" 60
  fi
fi

if [ "$MODE" = purge ]; then
  # The same stores `make run` would use, with the reference city services up for their records.
  PYTHONWARNINGS=ignore "$PY" -m privacy.purge --endpoints "$endpoints" ${DAYS:+--days "$DAYS"}
  exit
fi

if is_up "http://127.0.0.1:$ACTIONS_PORT/health"; then
  echo "The action server already answers on :$ACTIONS_PORT"
else
  echo "Starting the action server on $ACTIONS_INTERFACE:$ACTIONS_PORT (log: var/actions.log)"
  "$PY" -m action_server --port "$ACTIONS_PORT" --interface "$ACTIONS_INTERFACE" > var/actions.log 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$ACTIONS_PORT/health" "The action server" 90
fi

cp credentials.yml var/credentials.yml
if [ -n "${WHATSAPP_APP_SECRET:-}" ]; then
  cat channels/whatsapp/credentials.yml >> var/credentials.yml
  # The webhook on a port of its own: its 200 does not wait for Rasa's turns
  # (docs/whatsapp.md). WHATSAPP_WEBHOOK_PORT= (empty) serves it on Rasa's port only.
  export WHATSAPP_WEBHOOK_PORT=${WHATSAPP_WEBHOOK_PORT-5007}
  # like Rasa's port: Meta reaches it through the reverse proxy that terminates TLS
  export WHATSAPP_WEBHOOK_HOST=${WHATSAPP_WEBHOOK_HOST:-$RASA_INTERFACE}
  if [ -n "$WHATSAPP_WEBHOOK_PORT" ]; then
    echo "WhatsApp channel enabled: webhook at http://<this host>:$WHATSAPP_WEBHOOK_PORT/webhooks/whatsapp/webhook"
    echo "  (also served at http://<this host>:$RASA_PORT/webhooks/whatsapp/webhook)"
  else
    echo "WhatsApp channel enabled: webhook at http://<this host>:$RASA_PORT/webhooks/whatsapp/webhook"
  fi
fi

if [ "$MODE" = shell ]; then
  # Its own port, so that it can run beside `make run`; no HTTP API (rasa shell enables none).
  "$RASA" shell --model "$model" --endpoints "$endpoints" --port "${SHELL_PORT:-5006}" -i 127.0.0.1
  exit
fi

# Rasa's HTTP API (trackers, trigger_intent, the model) answers only with this token (?token=),
# or with a JWT signed with RASA_JWT_SECRET when that is set (RASA_API_TOKEN is set above).
api_auth=("--auth-token=$RASA_API_TOKEN")
[ -n "${RASA_JWT_SECRET:-}" ] && api_auth+=("--jwt-secret=$RASA_JWT_SECRET")

cat <<MSG

Vecino is starting on http://$RASA_INTERFACE:$RASA_PORT (log below).
Operators' console: http://$CONSOLE_INTERFACE:$CONSOLE_PORT (user admin, password in var/secrets/console_admin_password
  unless CONSOLE_ADMIN_PASSWORD was set; docs/operadores.md). Talk to the assistant:
  - in another terminal:  make shell
  - over REST (a development channel):  curl -s $RASA_INTERFACE:$RASA_PORT/webhooks/rest/webhook \\
                  -H 'Content-Type: application/json' -d '{"sender": "vecino-1", "message": "hola"}'
Rasa's HTTP API needs ?token=\$RASA_API_TOKEN (the one in use is described above).
Stop with Ctrl+C.

MSG
"$RASA" run --model "$model" --enable-api "${api_auth[@]}" -i "$RASA_INTERFACE" --port "$RASA_PORT" \
  --endpoints "$endpoints" --credentials var/credentials.yml &
pids+=($!)
wait "${pids[-1]}"
