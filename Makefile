# Two entry points for a new machine: `make run` and `make test` (see README, Quick start).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test venv lock

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/alembic upgrade head
	$(VENV)/bin/python -m bot

test: $(STAMP)
	bash scripts/test

# Re-pin every dependency after editing pyproject.toml: the runtime set (the Docker image)
# and the development set (tests, linters) are locked separately.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet .
	.lock-venv/bin/pip freeze | grep -v -e '^pip==' -e '^course-provisioning-bot' > requirements.lock
	.lock-venv/bin/pip install --quiet '.[dev]'
	.lock-venv/bin/pip freeze | grep -v -e '^pip==' -e '^course-provisioning-bot' > requirements-dev.lock
	rm -rf .lock-venv build *.egg-info
