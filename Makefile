# Two commands matter: `make demo` and `make test`. Both work on a fresh machine with python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint typecheck docs docs-check docs-site fuzz slow bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,hypothesis,x12,fhir,docs]'
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/dsmt-rules check examples/claims.jsonl --format text --no-progress; \
	  status=$$?; [ $$status -le 1 ] || exit $$status

test: $(TEST_STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy src tests/typing
	$(BIN)/python scripts/gen_rule_docs.py --check
	$(BIN)/python scripts/gen_profile_docs.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site
	$(BIN)/python -m pytest -q -m "not slow"

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

fuzz: $(TEST_STAMP)
	DSMT_HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -m "slow or not slow" tests/properties

slow: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_check.py

clean:
	rm -rf $(VENV) build dist site .pytest_cache .mypy_cache .ruff_cache
