# imgpipe: every command a developer or CI needs. Everything provisioned lives under .local/.
PYTHON ?= python3
VENV := .local/venv
PY := $(VENV)/bin/python
PROCESSORS ?= 2
INSTALLED := $(VENV)/.installed-stamp

.PHONY: install up down logs check test lint bench bench-storage bench-fairness bench-retention bench-soak bench-variants bench-batch demo clean-state

# System prerequisites (Java 17, Maven, Go, python3-venv) are checked, and installed with apt
# where missing, by infra/install-prerequisites.sh; the Python environment is built here.
$(INSTALLED): pyproject.toml infra/install-prerequisites.sh
	bash infra/install-prerequisites.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

up: install
	$(PY) -m devstack up --processors $(PROCESSORS)

down:
	@if [ -x $(PY) ]; then $(PY) -m devstack down; else echo "nothing to stop"; fi

logs: install
	$(PY) -m devstack logs

# The quick tier, under 2 minutes and with no broker or database: lint and types, the unit tests,
# and the gateway's API answered in process (tests/api).
check: lint
	$(PY) -m pytest tests/unit tests/api

# The full suite: the quick tier first, then the integration tests on real stacks of their own.
test: check
	$(PY) -m pytest tests/integration

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy imgpipe gateway processors aggregator devstack bench cli

# The four performance figures of BENCHMARKS.md, on a stack of its own (not part of `make test`,
# which runs a smoke version). Writes bench/results.json, bench/throughput.png, BENCHMARKS.md.
bench: install
	$(PY) -m bench

# Only storage.s3_ratio (file against S3 storage, fresh stacks), into the last run's results.
bench-storage: install
	$(PY) -m bench.storage

# Only the fairness figures (small requests beside a batch, keys' shares), into the last run's results.
bench-fairness: install
	$(PY) -m bench.fairness

# Only the retention figures (deleting expired requests beside none and a million stored rows).
bench-retention: install
	$(PY) -m bench.retention

# Only the variants figures (WebP and AVIF bytes against JPEG at equal SSIM, what a variant adds to
# the shared decode, each format's efforts), into the last run's results. No stack: pure Pillow.
bench-variants: install
	$(PY) -m bench.variants

# The retention soak: 21 minutes of steady uploads kept 2 minutes; what is stored must level off.
bench-soak: install
	$(PY) -m bench.soak

# A 1,000,000-row CSV of small images end to end on the bench stack (long: neither in `make test`
# nor in `make bench`); adds its time and each service's peak memory to BENCHMARKS.md.
bench-batch: install
	$(PY) -m bench.big_batch

demo: install
	bash examples/demo.sh

# Forget all local data (Kafka log, database, stored images and CSVs) but keep the downloaded tools.
clean-state: down
	rm -rf .local/logs .local/pids .local/kafka-data .local/mongodb-data .local/seaweedfs-data .local/services \
		.local/faust .local/test-stack .local/s3-test-stack .local/uncached-stack
	find processed_images -mindepth 1 -not -name .gitkeep -delete
