# Keystore: `make run` serves the demo shop, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run ADDR=0.0.0.0:8080`: where the dev server listens (email links follow it).
ADDR ?= 127.0.0.1:8000

.PHONY: install run test test-e2e lint typecheck format worker beat messages bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python scripts/run_dev.py --addr $(ADDR)

# `make test` runs the suite on every core (pytest-xdist; each worker gets its own test
# database). --dist loadfile keeps each test file on one worker: the smoke stack, the beat
# lock and the fail-closed shop database are set up once per file. (--dist loadgroup does
# not group under pytest 9.2 + xdist 3.8: the xdist_group marks are kept for when it does.)
# `make test TEST_WORKERS=0`: serial.
TEST_WORKERS ?= auto

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test-e2e: install
	$(BIN)/python -m pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# mypy with django-stubs: what it checks and skips is [tool.mypy] in pyproject.toml.
typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A config worker --loglevel INFO

beat: install
	$(BIN)/celery -A config beat --loglevel INFO --schedule var/celerybeat-schedule

messages: install
	$(BIN)/python manage.py makemessages -l fr -l ar --ignore=.venv --ignore=var --ignore=node_modules
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

clean:
	rm -rf $(VENV) var staticfiles
