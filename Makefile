# Vecino's front door. `make help` lists the targets (from the ## comments below).
PY     := .venv/bin/python
RASA   := .venv/bin/rasa
CONFIG ?= config.yml

.DEFAULT_GOAL := help
# endpoints.yml reads ${ACTION_SERVER_TOKEN}, and Rasa refuses to read it when the variable is unset:
# every target may read it (scripts/run.sh then generates a real token when it is empty).
export ACTION_SERVER_TOKEN ?=
.PHONY: help setup run test train shell actions city-services validate bench constraints clean \
        inbox merge report lint-data purge

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

setup: ## Create .venv with Python 3.10 and install everything (no-op when up to date)
	@scripts/setup.sh

run: setup ## Train if needed, start city services + action server + Rasa on 127.0.0.1 (API token in var/secrets/)
	@scripts/run.sh

test: ## Set up and run the whole suite: data lint, validation, training, NLU threshold, stories, pytest
	@scripts/test.sh

train: setup ## Train a model into models/ (reused when data, domain and config are unchanged)
	$(PY) -m trainers.model --config $(CONFIG)

shell: setup ## Chat with Vecino in this terminal
	@MODE=shell scripts/run.sh

actions: setup ## Run only the action server (127.0.0.1:5055, answers only with ACTION_SERVER_TOKEN)
	@MODE=actions scripts/run.sh

city-services: setup ## Run only the reference city services (:5056)
	$(PY) -m city_services

validate: setup ## Check domain, data and stories for inconsistencies
	$(RASA) data validate --fail-on-warnings

bench: setup ## Run the benchmarks under bench/ and print their figures (about 45 minutes)
	$(PY) -m bench.nlu
	$(PY) -m bench.fallback_threshold
	$(PY) -m bench.actions_latency
	$(PY) -m bench.whatsapp_vs_rest
	$(PY) -m bench.fuzz
	$(PY) -m bench.geocoder

# --- NLU trainers (guide: docs/entrenar.md) ---

inbox: setup ## Export what the assistant did not understand (DESDE=AAAA-MM-DD HASTA=… UMBRAL=… SALIDA=…)
	$(PY) -m trainers.inbox $(if $(DESDE),--desde $(DESDE)) $(if $(HASTA),--hasta $(HASTA)) \
		$(if $(CONVERSACIONES),--conversaciones $(CONVERSACIONES)) $(if $(UMBRAL),--umbral $(UMBRAL)) \
		$(if $(SALIDA),--salida $(SALIDA))

merge: setup ## Add a labelled inbox file to data/ (ARCHIVO=inbox/….yml)
	@test -n "$(ARCHIVO)" || { echo 'Falta el archivo: make merge ARCHIVO=inbox/AAAA-MM-DD_AAAA-MM-DD.yml'; exit 2; }
	$(PY) -m trainers.merge $(ARCHIVO)

report: setup ## Train if needed, evaluate the held-out split, write reports/nlu/index.html (MODELO=…)
	$(PY) -m trainers.report $(if $(MODELO),--modelo $(MODELO))

lint-data: setup ## Check the training data and answers (also run by make test)
	$(PY) -m trainers.lint

constraints: setup ## Refresh constraints.txt from the installed environment
	@{ echo '# Exact versions of every package, as resolved and tested (regenerate: make constraints).'; $(PY) -m pip freeze --exclude-editable; } > constraints.txt

purge: setup ## Delete or anonymise personal data older than DAYS (default RETENTION_DAYS, else 90)
	@MODE=purge DAYS=$(DAYS) scripts/run.sh

clean: ## Remove trained models, results and local databases
	rm -rf models/*.tar.gz results reports var .rasa
