# Two commands matter: `make demo` and `make test`. Both work on a fresh machine with python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck docs docs-check docs-site fuzz fuzz-short fuzz-atheris slow bench \
  clean chromium browser screenshot java spark-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,hypothesis,x12,fhir,docs,spark]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/dsmt-rules check examples/claims.jsonl --format text --no-progress; \
	  status=$$?; [ $$status -le 1 ] || exit $$status

# The browser tests drive Debian's chromium (playwright's own browser builds are never downloaded).
# CI runs as root: install it when it is missing; elsewhere say why the browser tests will skip.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@[ -x $(CHROMIUM) ] || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || echo "warning: could not install chromium (need root and apt-get); browser tests will skip"

# Spark (the spark extra, tests marked `spark`) needs a Java runtime 17 or 21: found on PATH or in
# JAVA_HOME, else Debian's openjdk-17-jre-headless is installed (apt-get; CI runs as root).
JAVA_MAJOR = java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
java:
	@major=$$($(JAVA_MAJOR)); \
	if [ "$$major" = 17 ] || [ "$$major" = 21 ]; then exit 0; fi; \
	echo "Java 17 or 21 not found (found: $${major:-none}); installing openjdk-17-jre-headless"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  openjdk-17-jre-headless >/dev/null && java -version

test: $(TEST_STAMP) chromium java
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy src tests/typing
	$(BIN)/python scripts/gen_rule_docs.py --check
	$(BIN)/python scripts/gen_profile_docs.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site
	$(BIN)/python -m pytest -q -m "not slow"
	$(MAKE) --no-print-directory fuzz-short

lint: $(TEST_STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

typecheck: $(TEST_STAMP)
	$(BIN)/python -m mypy src tests/typing

docs: $(TEST_STAMP)
	$(BIN)/python scripts/gen_rule_docs.py
	$(BIN)/python scripts/gen_profile_docs.py

docs-check: $(TEST_STAMP)
	$(BIN)/python scripts/gen_rule_docs.py --check
	$(BIN)/python scripts/gen_profile_docs.py --check

# The docs site (mkdocs-material): docs/ built into site/, warnings (broken links) are errors.
docs-site: $(TEST_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The fuzz harness (fuzz/harness.py): hostile inputs through the whole command, the batch
# guarantees checked on each. `make fuzz` runs 1,000,000 inputs and the property tests at length;
# `make fuzz-short` (part of `make test`) 20,000 inputs; `make fuzz-atheris` is coverage-guided.
FUZZ_INPUTS ?= 1000000
FUZZ_SHORT_INPUTS ?= 20000
FUZZ_SEED ?= 0
ATHERIS_RUNS ?= 200000

fuzz: $(TEST_STAMP)
	$(BIN)/python -m fuzz.harness --inputs $(FUZZ_INPUTS) --seed $(FUZZ_SEED)
	$(BIN)/python -m fuzz.configs --inputs 20000 --seed $(FUZZ_SEED)
	DSMT_HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -m "slow or not slow" tests/properties

fuzz-short: $(TEST_STAMP)
	$(BIN)/python -m fuzz.harness --inputs $(FUZZ_SHORT_INPUTS) --seed $(FUZZ_SEED)
	$(BIN)/python -m fuzz.configs --inputs 500 --seed $(FUZZ_SEED)

fuzz-atheris: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	$(BIN)/python fuzz/atheris_adapters.py --make-corpus fuzz/corpus
	$(BIN)/python fuzz/atheris_adapters.py -atheris_runs=$(ATHERIS_RUNS) fuzz/corpus

slow: $(TEST_STAMP) java
	$(BIN)/python -m pytest -q -m slow

browser: $(TEST_STAMP) chromium
	$(BIN)/python -m pytest -q -m browser

screenshot: $(TEST_STAMP) chromium
	DSMT_SCREENSHOT=docs/summary.png $(BIN)/python -m pytest -q -m browser tests/test_html.py

spark-test: $(TEST_STAMP) java
	$(BIN)/python -m pytest -q -m spark

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_check.py

clean:
	rm -rf $(VENV) build dist site .pytest_cache .mypy_cache .ruff_cache
