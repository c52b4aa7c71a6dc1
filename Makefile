# prevent-survey: every target sets up what it needs. `make help` lists them.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
JS_STAMP := node_modules/.installed
CSS := survey/static/css/main.css
MANIFEST := survey/static/manifest.json
DATABASE_STAMP := instance/.migrated
CATALOGUES := $(wildcard survey/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
HOST ?= 127.0.0.1
# Tests run on every core (pytest-xdist); the browser tests of each server stay together on
# one worker (--dist loadgroup). PYTEST_WORKERS=0 runs them all in one process.
PYTEST_WORKERS ?= auto
PARALLEL := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadgroup)
# When make started, so the test targets can say how long the whole command took.
STARTED := $(shell date +%s)
PORT ?= 5000
export FLASK_APP := survey

.DEFAULT_GOAL := help
.PHONY: help run serve test test-all audit lint format assets messages clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: $(PY_STAMP) $(MANIFEST) $(COMPILED) ## Set everything up and serve the platform on http://127.0.0.1:5000
	$(BIN)/flask db upgrade
	$(BIN)/flask demo --base-url http://$(HOST):$(PORT)
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl+C to stop)"
	SURVEY_BIND=$(HOST):$(PORT) $(BIN)/python -m survey.devserver

# The job queue `make serve` uses: Redis, with one `flask jobs worker` beside gunicorn.
JOB_QUEUE ?= redis://127.0.0.1:6379/0

serve: $(PY_STAMP) $(MANIFEST) $(COMPILED) ## Serve with gunicorn and a job worker on Redis (SQLite, or PostgreSQL when SURVEY_DATABASE_URL is set) on 127.0.0.1:8000
	$(BIN)/flask db upgrade
	$(BIN)/flask demo --base-url http://127.0.0.1:8000
	export SURVEY_JOB_QUEUE=$(JOB_QUEUE); \
	$(BIN)/flask jobs worker & worker=$$!; trap 'kill $$worker' EXIT INT TERM; \
	SURVEY_BIND=127.0.0.1:8000 $(BIN)/gunicorn -c gunicorn.conf.py survey.wsgi:app

test: $(PY_STAMP) $(MANIFEST) $(COMPILED) ## Set everything up and run the test suite (SQLite; PostgreSQL with TEST_DATABASE_URL)
	@$(call timed,$(BIN)/python -m pytest $(PARALLEL) -m "not slow" $(PYTEST_ARGS))

# Which of the suite test-all runs in parallel before the slow suites. `.ci/run` leaves out
# the browser tests on its PostgreSQL pass: their servers always run on SQLite, so they
# would repeat the first pass exactly.
SUITE ?= not slow
test-all: $(PY_STAMP) $(MANIFEST) $(COMPILED) ## Run every test: the suite in parallel, then the slow suites (load, crash, outage) alone
	@$(call timed,$(BIN)/python -m pytest $(PARALLEL) -m "$(SUITE)" $(PYTEST_ARGS) \
		&& $(BIN)/python -m pytest -m slow $(PYTEST_ARGS))

# Run a command, then say how long `make` took in all (set-up included) and pass on its
# exit status (pytest's 5, no tests collected, fails the target like any other).
timed = echo '$(1)'; status=0; $(1) || status=$$?; \
	seconds=$$(( $$(date +%s) - $(STARTED) )); \
	echo "make $@: $$((seconds / 60)) min $$((seconds % 60)) s in all, set-up included"; \
	exit $$status

audit: $(PY_STAMP) ## Check the locked dependencies for known vulnerabilities (pip-audit)
	$(BIN)/python .ci/audit

lint: $(PY_STAMP) ## Check style with ruff
	$(BIN)/ruff check survey analysis tests $(wildcard bench)
	$(BIN)/ruff format --check survey analysis tests $(wildcard bench)

format: $(PY_STAMP) ## Format the code with ruff
	$(BIN)/ruff format survey analysis tests $(wildcard bench)
	$(BIN)/ruff check --fix survey analysis tests $(wildcard bench)

assets: $(MANIFEST) ## Build the front-end assets into survey/static

messages: $(PY_STAMP) ## Gather the interface strings and add new ones to each language's catalogue
	$(BIN)/pybabel extract -F babel.cfg -k ui -k ui_plural:1,2 -k N_ -k in_language -k tr --sort-by-file --project prevent-survey -o survey/translations/messages.pot .
	$(BIN)/pybabel update -i survey/translations/messages.pot -d survey/translations --no-fuzzy-matching --width 100

# Each language's interface catalogue, compiled for Flask-Babel.
survey/translations/%/LC_MESSAGES/messages.mo: survey/translations/%/LC_MESSAGES/messages.po $(PY_STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

$(PY_STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

$(JS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

$(CSS): $(JS_STAMP) $(wildcard assets/scss/*.scss assets/js/* assets/images/*)
	mkdir -p survey/static/css survey/static/js survey/static/images
	npx sass --pkg-importer=node --no-source-map --style=compressed --quiet-deps assets/scss/main.scss $(CSS)
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js survey/static/js/
	cp assets/js/app.mjs survey/static/js/
	cp assets/images/* survey/static/images/

# Content-hashed copies (cached for a year), pre-compressed, and the manifest pages read.
$(MANIFEST): $(CSS) $(PY_STAMP)
	$(BIN)/python -m survey.assets survey/static

clean: ## Remove the virtual environment, built assets and the local database
	rm -rf $(VENV) node_modules survey/static instance
