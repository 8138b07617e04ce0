#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs Vecino into it. Idempotent: does nothing when the
# virtualenv already matches the requirement files, so every make target can call it.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
REQUIRED="3.10"   # rasa 3.6.21 supports 3.8–3.10; the project is built and tested on 3.10.

python_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python /root/.pyenv/versions/3.10*/bin/python /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ] || continue
    if [ "$(python_version "$candidate")" = "$REQUIRED" ]; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  return 1
}

stamp_of_requirements() { cat requirements.txt requirements-dev.txt constraints.txt | sha256sum | cut -d' ' -f1; }

if [ -x "$VENV/bin/python" ] && [ "$(python_version "$VENV/bin/python")" = "$REQUIRED" ] \
   && [ -f "$VENV/.requirements-stamp" ] && [ "$(cat "$VENV/.requirements-stamp")" = "$(stamp_of_requirements)" ]; then
  exit 0
fi

if ! PY=$(find_python); then
  cat >&2 <<MSG
Vecino needs Python $REQUIRED (Rasa Open Source 3.6 runs on Python 3.8–3.10) and none was found.
Install it, then run the command again:
  - with pyenv:   pyenv install 3.10.13        (https://github.com/pyenv/pyenv#installation)
  - on Debian/Ubuntu: sudo apt-get install python3.10 python3.10-venv   (deadsnakes PPA on older Ubuntu)
  - or point to one you have:  PYTHON=/path/to/python3.10 make run
MSG
  exit 1
fi

if [ -d "$VENV" ] && [ "$(python_version "$VENV/bin/python")" != "$REQUIRED" ]; then
  echo "Recreating $VENV: it was not made with Python $REQUIRED."
  rm -rf "$VENV"
fi
[ -x "$VENV/bin/python" ] || { echo "Creating $VENV with $PY"; "$PY" -m venv "$VENV"; }

echo "Installing Vecino's dependencies into $VENV (about two minutes the first time)..."
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 'setuptools<71' wheel
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
stamp_of_requirements > "$VENV/.requirements-stamp"
echo "Environment ready: $VENV ($("$VENV/bin/python" --version))"
