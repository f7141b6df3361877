# Everything a fresh machine needs: `make demo` and `make test` create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip resolves torch==2.13.0 to the local CPU wheel; the constraints file pins everything.
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt
# The tests read DATA (default: $GENLAB_DATA when set, else ../shared/datasets) through GENLAB_DATA.
DATA ?= $(or $(GENLAB_DATA),$(abspath ../shared/datasets))

.PHONY: demo test install install-test benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[test,tabular,tensorboard,ray]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/genlab demo --out demo-output

# Lint first: a style or import error fails in seconds, before minutes of tests.
test: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	GENLAB_DATA=$(DATA) $(BIN)/python -m pytest

# Each benchmark writes benchmarks/results/NAME.json; their tables live in docs/benchmarks.md.
# gpu.py needs a CUDA GPU and runs on its own (docs/benchmarks.md, "GPU machine").
benchmark: install
	for script in $(filter-out benchmarks/gpu.py,$(wildcard benchmarks/[!_]*.py)); do \
		GENLAB_DATA=$(DATA) $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) demo-output .pytest_cache
