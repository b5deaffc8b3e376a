# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# The first call creates .venv with uv (Hummingbot is an sdist that compiles Cython: about
# 4-6 minutes on 2 cores the first time; uv caches the build, later installs take seconds).
# --compile-bytecode writes the installed packages' .pyc once: without it, where
# PYTHONDONTWRITEBYTECODE is set (containers, CI), every process compiles Hummingbot, pandas,
# scikit-learn and xgboost from source again (about 5 s of CPU per process on 2 cores).

PYTHON ?= python3.12
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed
DATA   ?= data/sample/binance
# model families trained on the same folds; the gate picks one (README: "Model families")
FAMILIES ?= xgboost
POSTGREST := tools/postgrest/node_modules/.installed

.PHONY: run lint test e2e replay bench venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.12 (pyenv install 3.12.1)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) pip install --python $(PY) --compile-bytecode -e '.[dev,torch]'
	@touch $@

$(POSTGREST): tools/postgrest/package.json tools/postgrest/package-lock.json
	npm ci --prefix tools/postgrest --no-audit --no-fund
	@touch $@

## Main job: train the three strategies on the shipped real candles, write artifacts and report.
## `make run FAMILIES=xgboost,torch` trains both model families and publishes the better one.
run: $(STAMP)
	$(PY) -m training train --data $(DATA) --families $(FAMILIES)

## Lint gate (CI runs it before the tests): ruff on the whole tree, then mypy as configured in
## pyproject.toml's [tool.mypy] (strict on ml_signals; pydantic plugin; pandas stubs).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## Test suite (starts its own PostgreSQL, PostgREST and Slack-like servers on loopback).
test: $(STAMP) $(POSTGREST)
	$(PY) -m pytest

## End-to-end: the unmodified Hummingbot client (headless) trades the scripts on kraken_paper_trade
## against a loopback Kraken replaying real candles, alerts to a loopback Slack (a few minutes).
e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -m e2e -s

# Trained once for the replay; what the gate published (maybe nothing) is what the scripts load.
models/.trained: | $(STAMP)
	$(PY) -m training train --data $(DATA)
	@touch $@

## Replay the Hummingbot scripts inside Hummingbot's backtest clock on real candles (last 61
## days of the data, BTC/ETH/SOL): once with the published artifacts (trains first if it never
## did; a strategy the gate did not publish takes no entry there), once rules-only on the same
## window, all in one pool of two processes; a last table sets the two variants side by side.
REPLAY := $(PY) -m training.replay --all --jobs 2 --data $(DATA) --pairs BTC-USDT,ETH-USDT,SOL-USDT
replay: $(STAMP) models/.trained
	$(REPLAY) --out reports/replay/ml --rules-only-out reports/replay/rules-only

## Benchmarks print figures; they assert nothing.
bench: $(STAMP)
	$(PY) benchmarks/bench_scoring.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_replay.py

clean-venv:
	rm -rf $(VENV)
