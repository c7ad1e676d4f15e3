# Two commands matter: `make demo` and `make test`. Both work on a fresh machine with python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck docs docs-check fuzz slow bench clean java spark-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,hypothesis,x12,fhir,spark]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/dsmt-rules check examples/claims.jsonl --format text --no-progress; \
	  status=$$?; [ $$status -le 1 ] || exit $$status

# Spark (the spark extra, tests marked `spark`) needs a Java runtime 17 or 21: found on PATH or in
# JAVA_HOME, else Debian's openjdk-17-jre-headless is installed (apt-get; CI runs as root).
JAVA_MAJOR = java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
java:
	@major=$$($(JAVA_MAJOR)); \
	if [ "$$major" = 17 ] || [ "$$major" = 21 ]; then exit 0; fi; \
	echo "Java 17 or 21 not found (found: $${major:-none}); installing openjdk-17-jre-headless"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  openjdk-17-jre-headless >/dev/null && java -version

test: $(TEST_STAMP) java
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy src tests/typing
	$(BIN)/python scripts/gen_rule_docs.py --check
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(TEST_STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/python -m mypy src tests/typing

docs: $(TEST_STAMP)
	$(BIN)/python scripts/gen_rule_docs.py

docs-check: $(TEST_STAMP)
	$(BIN)/python scripts/gen_rule_docs.py --check

fuzz: $(TEST_STAMP)
	DSMT_HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -m "slow or not slow" tests/properties

slow: $(TEST_STAMP) java
	$(BIN)/python -m pytest -q -m slow

spark-test: $(TEST_STAMP) java
	$(BIN)/python -m pytest -q -m spark

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_check.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
