# dicom-assets: the README's commands. `make demo` runs the product on local defaults,
# `make test` runs the whole test suite (what CI runs).
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV := uv

.PHONY: demo test test-fast query bench bench-delta bench-reconcile bench-schema bench-custom bench-latency bootstrap bootstrap-test lint clean fuzz

bootstrap:
	@scripts/bootstrap.sh

bootstrap-test:
	@scripts/bootstrap.sh --with-test-tools

demo: bootstrap
	$(UV) run python -m dicom_assets.devtools.demo

# Test modules run in parallel (pytest-xdist), a module per worker: most tests wait on Orthanc,
# Azurite, the daemon or Spark rather than compute. PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile

test: bootstrap-test lint
	$(UV) run pytest -q -ra --durations=15 $(PYTEST_PARALLEL)

test-fast: bootstrap
	$(UV) run pytest -q -m "not e2e" $(PYTEST_PARALLEL)

query:
	@$(UV) run python -m dicom_assets.devtools.query

bench: bootstrap
	$(UV) run python bench/bench_sync.py
	$(UV) run python bench/bench_lake.py
	$(UV) run python bench/bench_delta.py

bench-delta: bootstrap
	$(UV) run python bench/bench_delta.py

bench-reconcile: bootstrap
	$(UV) run python bench/bench_reconcile.py

bench-schema: bootstrap
	$(UV) run python bench/bench_schema.py

bench-custom: bootstrap
	$(UV) run python bench/bench_custom.py
	$(UV) run python bench/bench_custom_range.py

# Fuzzing of the native JSON code (docs/security.md): each target for FUZZ_SECONDS, sanitized.
# atheris is added for this run only (pinned; not in the lock: make test needs no atheris).
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?=
fuzz: bootstrap-test
	$(UV) run --with atheris==2.3.0 python -m dicom_assets_tests.fuzz.run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench-latency: bootstrap
	$(UV) run python bench/bench_latency.py

# Style is enforced, not hoped for: make test runs this first.
lint: bootstrap
	$(UV) run ruff format --check dicom_assets dicom_assets_tests bench
	$(UV) run ruff check dicom_assets dicom_assets_tests bench

clean:
	rm -rf data test-artifacts
