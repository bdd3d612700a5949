# FleetDeck: `make demo` and `make test` are the two commands; everything else serves them.
PYTHON ?= python3
VENV := .venv
TRITON_VENV := .venv-triton
PY := $(VENV)/bin/python
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
STUB_DIR := $(TRITON_VENV)/lib/python$(PYVER)/site-packages/pytriton/tritonserver

.PHONY: install demo test faults bench lint check clean

install: $(VENV)/.installed $(TRITON_VENV)/.installed

$(VENV)/.installed: config/requirements/app.txt config/requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r config/requirements/dev.txt
	touch $@

# Triton's python backend runs the first python3 on PATH and needs numpy<2: its own venv.
$(TRITON_VENV)/.installed: config/requirements/triton.txt
	$(PYTHON) -m venv $(TRITON_VENV)
	$(TRITON_VENV)/bin/pip install --quiet --upgrade pip
	$(TRITON_VENV)/bin/pip install --quiet -r config/requirements/triton.txt
	cp $(STUB_DIR)/python_backend_stubs/$(PYVER)/triton_python_backend_stub $(STUB_DIR)/backends/python/
	touch $@

demo: install
	$(PY) manage.py demo

test: install
	$(PY) -m fleet.demo.embedded_redis $(PY) -m pytest

# The fault suite at full count (`make test` runs it twice per fault); the figures go to
# docs/reliability.md. FAULTS_COUNT=5 make faults for a shorter run.
FAULTS_COUNT ?= 20
faults: install
	FAULTS_COUNT=$(FAULTS_COUNT) FAULTS_REPORT=docs/reliability.md \
		$(PY) -m fleet.demo.embedded_redis $(PY) -m pytest tests/faults -m faults

# Every issue 8 target as one table (bench/run.py), CI-sized; BENCH_FULL=1 make bench for the
# full-size figures of docs/benchmarks.md (~30 min). Needs PostgreSQL (DATABASE_URL), Redis,
# Debian's chromium and prometheus (and wrk for ensure's long closed loop).
bench: install
	BENCH_FULL=$(BENCH_FULL) $(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

clean:
	rm -rf $(VENV) $(TRITON_VENV) var
