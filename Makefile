# The project's commands. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SEED ?= 42
SCALE ?= 1

# Telemetry off everywhere (dbt, Dagster, Evidently, MLflow).
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: install demo data test test-fast test-scenarios test-api test-ui test-spark lint ui docs analysis api events compare-engines bench-api bench-runs bench-scale bench-loader bench-er bench-forecast bench-recon bench-cashflow bench-triage bi-superset forecast-rollback forecast-approve safe-mode review clean

# Virtual environment with the locked dependencies; rebuilt only when the lock or pyproject changes.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Generate the default sample extracts (idempotent: same seed -> same files, skipped if present).
data: $(STAMP)
	$(BIN)/python -m sme_sim generate --seed $(SEED) --scale $(SCALE)

# The main job: sample data, then every asset materialized through Dagster, published atomically.
demo: data
	$(BIN)/python -m orchestration.cli demo $(if $(FORCE),--force)

# Everything but the multi-run workflow scenarios and fault trials (`make test-scenarios`), the tests against local
# servers (API/event end-to-end with redis-server and Chromium, the PostgreSQL warehouse: `make test-api`), the browser
# tests (`make test-ui`) and the Spark build (`make test-spark`). CI runs all but the last.
test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not api_e2e and not scenario and not ui and not spark and not postgres"

# The multi-run workflow scenarios (each runs further warehouse, forecasting or review jobs on its own
# warehouse): staged forecast rollout with a regime change, 2016/2031 calendars, AP/triage fallbacks and
# circuit breakers, review decisions across runs, an ERP-only landing zone, a second run loading nothing
# twice, two concurrent runs.
test-scenarios: $(STAMP)
	$(BIN)/python -m pytest -q -m "scenario and not api_e2e"

# The tests against local servers, on the tiny run: the API and event-intake end-to-end tests (the review page in
# headless Chromium, events through a real broker into the warehouse; each runs pipeline jobs on a copy of the tiny
# run) and the whole project built and published on a throwaway PostgreSQL server. CI runs them too.
test-api: $(STAMP)
	$(BIN)/python -m pytest -q -m "api_e2e or postgres" tests/api tests/dbt/test_postgres_warehouse.py

# The whole dbt project on Spark (dbt-spark `session` method, local mode; needs Java 17): the tiny run's inputs as
# Parquet tables, `dbt build --target spark`, every public mart compared with DuckDB; plus the cross_db macros on
# Spark. Its own venv: the lock plus requirements-spark.txt (pyspark stays out of the default install and of make test).
# SPARK_MASTER=local[1] on a busy machine.
.venv-spark/.installed: requirements.lock requirements-spark.txt pyproject.toml
	test -x .venv-spark/bin/python || $(PYTHON) -m venv .venv-spark
	.venv-spark/bin/python -m pip install --quiet --upgrade "pip>=24"
	.venv-spark/bin/python -m pip install --quiet -r requirements.lock -r requirements-spark.txt
	.venv-spark/bin/python -m pip install --quiet --no-deps -e .
	.venv-spark/bin/python -m pip check
	touch $@

test-spark: .venv-spark/.installed
	DBT_SPARK_MASTER=$(or $(SPARK_MASTER),local[2]) .venv-spark/bin/python -m pytest -q \
		tests/dbt/test_spark_build.py tests/dbt/test_cross_db_engines.py -k "spark"

# The Dagster UI and the dbt docs site rendered in headless Chromium (tests/ui; needs /usr/bin/chromium).
test-ui: $(STAMP)
	$(BIN)/python -m pytest -q -m ui tests/ui

# The fast loop (under 2 minutes): everything but the tests that run dbt builds or Dagster jobs.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Linters the code passes: ruff (Python) and sqlfluff (dbt SQL).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint models macros analyses

# The REST API (and the review page at /review) on http://127.0.0.1:$(API_PORT); keys from SMB_API_KEYS or
# SMB_API_KEYS_FILE ("<key>:<role>[:<name>]", roles viewer/reviewer/admin/publisher).
API_PORT ?= 8000
api: $(STAMP)
	$(BIN)/uvicorn api.app:create_app --factory --host 127.0.0.1 --port $(API_PORT)

# Event intake: a local redis-server (loopback, port EVENTS_PORT) and the consumer; replay extracts with
#   SMB_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python -m events replay --rate 50
EVENTS_PORT ?= 6379
events: $(STAMP)
	$(BIN)/python -m events serve --start-broker --port $(EVENTS_PORT)

ui: $(STAMP)
	$(BIN)/python -m orchestration.cli ui

docs: $(STAMP)
	$(BIN)/python -m orchestration.cli docs

# An impact query from analyses/ on the published warehouse, e.g.
#   make analysis NAME=impact_product_recall VARS='{product_id: PRD-000008}'
analysis: $(STAMP)
	$(BIN)/python -m orchestration.cli analysis $(NAME) --vars "$(or $(VARS),{})"

# Benchmarks print figures (speed ratios, accuracy against ground truth); they are not tests.
bench-loader: $(STAMP)
	$(BIN)/python -m benchmarks.loader --scales $(or $(BENCH_SCALES),5 20)

# What a full, a no-change and a one-new-day run cost, per step, and dbt build vs the same SQL run directly (issue 12).
bench-runs: $(STAMP)
	$(BIN)/python -m benchmarks.runs --scales $(or $(BENCH_SCALES),1 5) $(ARGS)

# The simulator at >= 20 million order lines (scale 500), generated and run once end to end: time per phase, peak
# RSS, published size (benchmarks/scale.py). About an hour on 2 cores; SCALE_RUN=20 checks the command in minutes.
# One dbt thread: at scale 500 two heavy marts built at once ran out of dbt's DuckDB memory limit.
bench-scale: $(STAMP)
	DBT_THREADS=$(or $(DBT_THREADS),1) $(BIN)/python -m benchmarks.scale --scale $(or $(SCALE_RUN),500) $(ARGS)

# The same inputs (the published warehouse of `make demo`) built on DuckDB, PostgreSQL and Spark: each engine's
# time and every public mart compared (row counts, checksums; benchmarks/engines.py). In .venv-spark (the lock
# plus pyspark and dbt-spark, as make test-spark).
compare-engines: .venv-spark/.installed
	.venv-spark/bin/python -m benchmarks.engines $(ARGS)

bench-er: $(STAMP)
	$(BIN)/python -m benchmarks.entity_resolution --scale $(SCALE) --seed $(SEED)

# AP reconciliation at two scales (pairs per invoice must stay flat as invoices grow): RECON_SCALES="1 5"
bench-recon: $(STAMP)
	$(BIN)/python -m benchmarks.reconciliation --scale $(or $(RECON_SCALES),1 5)

bench-cashflow: $(STAMP)
	$(BIN)/python -m benchmarks.cashflow

bench-triage: $(STAMP)
	$(BIN)/python -m benchmarks.triage

# API latency (forecast and review-queue queries) while a run publishes, and event-to-decision latency.
bench-api: $(STAMP)
	$(BIN)/python -m benchmarks.api --scale $(or $(BENCH_SCALE),5)

# statsforecast needs pandas<3: it lives in its own venv; the forecast benchmark calls it as a subprocess.
.venv-bench/.installed: requirements-bench.txt
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet -r requirements-bench.txt
	touch $@

bench-forecast: $(STAMP) .venv-bench/.installed
	$(BIN)/python -m benchmarks.forecast --scale $(SCALE) --seed $(SEED)

# Apache Superset on the BI copy (bi/warehouse.duckdb, read-only): its own venv (Superset pins SQLAlchemy<2).
# Sets up $SMB_DATA_DIR/superset (config, secret key, SQLite metadata), registers the database
# "SMB warehouse (BI copy)" and checks it through Superset's code (tables, column comments, a query).
# ARGS=serve then runs Superset on http://127.0.0.1:$SUPERSET_PORT (8088) as admin/$SUPERSET_ADMIN_PASSWORD.
.venv-superset/.installed: bi/superset/requirements.txt
	test -x .venv-superset/bin/python || $(PYTHON) -m venv .venv-superset
	.venv-superset/bin/python -m pip install --quiet --upgrade "pip>=24"
	.venv-superset/bin/python -m pip install --quiet -r bi/superset/requirements.txt
	touch $@

bi-superset: .venv-superset/.installed
	.venv-superset/bin/python bi/superset/connect.py $(ARGS)

# Move the demand forecaster's champion alias back one version and re-score.
forecast-rollback: $(STAMP)
	$(BIN)/python -m orchestration.forecasting.cli rollback

# Approve promoting a forecaster version (when SMB_FORECAST_REQUIRE_APPROVER=1), e.g. ARGS="3 --by ann --why 'reviewed'"
forecast-approve: $(STAMP)
	$(BIN)/python -m orchestration.forecasting.cli approve $(ARGS)

# Circuit breakers of the AI workflows, e.g. make safe-mode ARGS="status" or
# ARGS="close demand_forecasting --by ann --why 'checked the new feed'" (open WORKFLOW --mode M --by --why)
safe-mode: $(STAMP)
	$(BIN)/python -m smb_warehouse.core.safe_mode $(or $(ARGS),status)

# The AP invoice review queue, e.g. make review ARGS="list" or ARGS="approve AP-0000123 --by ann --why 'checked'"
review: $(STAMP)
	$(BIN)/python -m smb_warehouse.reconciliation.review $(ARGS)

# Opt-in observability with elementary (needs `pip install elementary-data` and its dbt package: the dbt hub,
# or SMB_ELEMENTARY_PACKAGE=/path/to/dbt-data-reliability); the default build never needs it.
.PHONY: observability
observability: $(STAMP)
	$(BIN)/python -m smb_warehouse.observability.elementary

# Reliability and security (README "Reliability and security"): fault injection on the main job, the one-table
# summary, restoring the previous publish, erasing one data subject.
.PHONY: test-faults reliability rollback-warehouse erase
test-faults: $(STAMP)
	$(BIN)/python -m benchmarks.faults --mode job --trials $(or $(TRIALS),20)

reliability: $(STAMP)
	$(BIN)/python -m benchmarks.reliability

rollback-warehouse: $(STAMP)
	$(BIN)/python -m orchestration.cli rollback-warehouse

# e.g. make erase ARGS="--email anna@firm.example --by 'ann (DPO)' --why 'request 2025-17'" (or --customer-id / --iban)
erase: $(STAMP)
	$(BIN)/python -m orchestration.privacy.erasure $(ARGS)

clean:
	rm -rf data target logs
