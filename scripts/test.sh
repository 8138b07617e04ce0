#!/usr/bin/env bash
# The whole test suite, as CI runs it: data lint and validation, one training run, the NLU
# held-out threshold, the story tests and pytest (which reuses the same model). Every step runs
# even when an earlier one failed, so one report shows everything that is wrong.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || exit 1
# the operators' console is tested in Debian's chromium (tests/console/browser/)
scripts/browser.sh || exit 1
RASA=.venv/bin/rasa
PY=.venv/bin/python
MIN_MACRO_F1=${MIN_MACRO_F1:-0.90}
# endpoints.yml reads ${ACTION_SERVER_TOKEN} (unset is an error for Rasa); the story tests call no action server
export ACTION_SERVER_TOKEN=${ACTION_SERVER_TOKEN-}
mkdir -p results
failed=()
step() {  # name, command...
  local name=$1; shift
  echo; echo "==> $name"
  local start=$SECONDS
  if "$@"; then echo "<== $name: ok ($((SECONDS - start)) s)"; else echo "<== $name: FAILED ($((SECONDS - start)) s)"; failed+=("$name"); fi
}

step "data lint" "$PY" -m trainers.lint
step "rasa data validate" "$RASA" data validate --fail-on-warnings --config config.yml
# trained once (or reused when data, domain and config are unchanged); every later step uses it
step "train" bash -c "'$PY' -m trainers.model --config config.yml > results/model.txt"
model=$(tail -n 1 results/model.txt 2>/dev/null)
if [ -n "$model" ]; then
  step "NLU held-out split (macro-F1 >= $MIN_MACRO_F1)" bash -c \
    "'$RASA' test nlu --model '$model' --nlu tests/nlu/test_nlu.yml --out results/nlu --no-plot > results/nlu.log 2>&1; status=\$?; [ \$status -eq 0 ] || { tail -20 results/nlu.log; exit \$status; }; '$PY' -m scripts.nlu_threshold results/nlu/intent_report.json --min-macro-f1 $MIN_MACRO_F1"
  rm -rf results/stories && mkdir -p results/stories && cp tests/test_stories*.yml results/stories/
  step "story tests" bash -c \
    "'$RASA' test core --model '$model' --stories results/stories --out results/core --fail-on-prediction-errors --no-plot > results/core.log 2>&1; status=\$?; grep -E 'Correct:|Failed|WrongPrediction|failed' results/core.log | tail -5; [ -f results/core/failed_test_stories.yml ] && grep -q 'story' results/core/failed_test_stories.yml && sed -n 1,80p results/core/failed_test_stories.yml; exit \$status"
else
  failed+=("NLU held-out split" "story tests")
fi
step "pytest" env VECINO_MODEL="$model" .venv/bin/pytest -p no:cacheprovider

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  exit 1
fi
echo "All steps passed."
