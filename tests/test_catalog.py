"""The catalog as a whole: every rule is listed, well formed, documented, and its examples run.

Each rule's ``example`` must raise exactly its own code (plus its declared ``companions``) and
its ``use_instead`` must raise nothing, read and checked the way the CLI does it. When the spec's
RULES.md is beside the project (``../shared/spec/RULES.md``), codes, names and default severities are
compared with its catalog table so that a rule drifting from the spec fails.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import pytest

import dsmt_rules.rules
from dsmt_rules import Claim, Report, Severity
from dsmt_rules._docs import example_options, read_example
from dsmt_rules.adapters.jsonl import parse_document
from dsmt_rules.catalog import CATALOG, CODES, rule_for
from dsmt_rules.engine import check_records, ruleset
from dsmt_rules.exceptions import AdapterError
from dsmt_rules.history import Ledger
from dsmt_rules.rules._base import Context, LedgerContext, Rule
from dsmt_rules.rules._examples import example_document

ROOT = Path(__file__).resolve().parent.parent
RULES_PACKAGE = dsmt_rules.rules.__name__

FAMILY_DIGITS: Mapping[str, frozenset[str]] = {
    module: frozenset(digit) for digit, module in dsmt_rules.rules.FAMILIES.items()
}
"""Which code family each rule module holds (``dsmt_rules.rules.FAMILIES``): one each."""

SECTIONS = ("## What it checks", "## Why it matters", "## References")

ids = [rule.code for rule in CATALOG]
CLAIM_RULES = [
    rule for rule in CATALOG if not isinstance(rule.example, str) and not rule.example_faults
]
"""The rules whose example is a claim that breaks them (DS001 and DS003 examples are raw input the
adapters reject; DS004's is an 837; DS005's is a clean claim checked with a rule made to fail)."""


def _rule_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(dsmt_rules.rules.__path__, prefix=f"{RULES_PACKAGE}.")
    ]
    for name in names:
        importlib.import_module(name)
    return names


def _subclasses(cls: type[Rule]) -> Iterator[type[Rule]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _concrete_rules() -> set[type[Rule]]:
    """Every rule class defined in the rules package (test-local subclasses are not rules)."""
    _rule_modules()
    return {
        cls
        for cls in _subclasses(Rule)
        if cls.__module__.startswith(f"{RULES_PACKAGE}.") and "code" in _own_or_inherited(cls)
    }


def _own_or_inherited(cls: type[Rule]) -> set[str]:
    """Attributes defined on the class or a base below Rule (Rule's own defaults do not count)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Rule:
            break
        names.update(vars(klass))
    return names


def _reports(
    rule: type[Rule], document: str, which: Literal["example", "use_instead"] = "example"
) -> list[Report]:
    """Read one document as the CLI does and check it with the rule's example options.

    A claim document goes through :func:`parse_document`; a raw document in another format (X12)
    through its adapter, as the CLI detects it (``read_example``, shared with the docs).
    """
    options = example_options(rule, which)
    try:
        records = read_example(document)
    except AdapterError as exc:
        pytest.skip(f"{rule.code}: {exc}")
    return list(check_records(records, rules=ruleset(**options)))


def _codes(reports: list[Report]) -> list[str]:
    return [code for report in reports for code in report.codes]


# --- the catalog is the one explicit list ---------------------------------------------------------


def test_every_rule_class_is_in_the_catalog() -> None:
    missing = sorted(cls.__qualname__ for cls in _concrete_rules() - set(CATALOG))
    assert not missing, f"rule classes not listed in a RULES tuple / the catalog: {missing}"


def test_catalog_holds_only_rule_classes_once() -> None:
    assert all(inspect.isclass(r) and issubclass(r, Rule) for r in CATALOG)
    assert len(set(CATALOG)) == len(CATALOG)


def test_codes_are_unique_well_formed_and_ordered() -> None:
    assert len(set(CODES)) == len(CODES), "duplicate rule codes"
    bad = [c for c in CODES if not re.fullmatch(r"DS\d{3}", c)]
    assert not bad, f"codes not of the form DS + three digits: {bad}"
    assert list(CODES) == sorted(CODES)
    assert tuple(rule.code for rule in CATALOG) == CODES


def test_names_are_unique_kebab_case() -> None:
    names = [rule.name for rule in CATALOG]
    assert len(set(names)) == len(names), "duplicate rule names"
    bad = [n for n in names if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", n)]
    assert not bad, f"names not kebab-case: {bad}"


def test_family_modules_list_their_rules_in_code_order_and_family() -> None:
    modules = {name.rsplit(".", 1)[1]: name for name in _rule_modules()}
    with_rules = sorted(
        name.rsplit(".", 1)[1]
        for name in modules.values()
        if hasattr(importlib.import_module(name), "RULES")
    )
    assert with_rules == sorted(FAMILY_DIGITS), "a rule module without a documented family"
    seen: list[type[Rule]] = []
    for family, digits in FAMILY_DIGITS.items():
        module = importlib.import_module(modules[family])
        rules: tuple[type[Rule], ...] = module.RULES
        codes = [rule.code for rule in rules]
        assert codes == sorted(codes), f"{family}.RULES is not in code order: {codes}"
        wrong = [c for c in codes if c[2] not in digits]
        assert not wrong, f"{family}.RULES holds codes of another family: {wrong}"
        foreign = [r.__qualname__ for r in rules if r.__module__ != module.__name__]
        assert not foreign, f"{family}.RULES lists classes defined elsewhere: {foreign}"
        seen.extend(rules)
    assert sorted(seen, key=lambda r: r.code) == list(CATALOG)


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_each_rule_lives_in_the_module_of_its_family(rule: type[Rule]) -> None:
    family = dsmt_rules.rules.FAMILIES[rule.code[2]]
    assert rule.__module__ == f"dsmt_rules.rules.{family}"


def test_rule_for_finds_every_code() -> None:
    for rule in CATALOG:
        assert rule_for(rule.code) is rule
        assert rule_for(f" {rule.code.lower()} ") is rule


# --- every rule: metadata and docs -----------------------------------------------------------------


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_rule_is_documented(rule: type[Rule]) -> None:
    doc = inspect.cleandoc(rule.__doc__ or "")
    summary = doc.partition("\n")[0].strip()
    assert summary, f"{rule.code} has no docstring summary line"
    assert not summary.startswith("#")
    positions = []
    for section in SECTIONS:
        assert re.search(rf"^{re.escape(section)}$", doc, re.MULTILINE), (
            f"{rule.code} docstring lacks the section {section!r}"
        )
        positions.append(doc.index(section))
        body = doc[doc.index(section) + len(section) :].lstrip("\n")
        assert body, f"{rule.code}: section {section!r} is empty"
        assert not body.startswith("#"), f"{rule.code}: section {section!r} is empty"
    assert positions == sorted(positions), f"{rule.code}: sections out of order"


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_rule_metadata(rule: type[Rule]) -> None:
    assert isinstance(rule.citation, str)
    assert rule.citation.strip(), f"{rule.code} has no citation"
    assert isinstance(rule.default_severity, Severity)
    assert isinstance(rule.needs, str)
    assert rule.needs.strip()
    assert rule.carc_hint is None or re.fullmatch(r"[A-Z]?[0-9]{1,3}", rule.carc_hint), (
        f"{rule.code}: carc_hint {rule.carc_hint!r} is not one short CARC code"
    )
    assert rule.fix is None or (isinstance(rule.fix, str) and rule.fix.strip())
    assert isinstance(rule.message, str)
    assert rule.message.strip()
    for companion in rule.companions:
        assert companion in CODES, f"{rule.code}: unknown companion {companion}"
        assert companion != rule.code
    assert (ROOT / rule.doc_url()).is_file(), (
        f"{rule.doc_url()} missing: run `make docs` (python scripts/gen_rule_docs.py)"
    )


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_messages_are_literal_templates_of_plain_fields(rule: type[Rule]) -> None:
    assert next(iter(rule.templates())) == "default"
    for variant, template in rule.templates().items():
        assert isinstance(template, str)
        assert template.strip(), f"{rule.code}: {variant} is empty"
        bad = [f for f in _fields(template) if not f.isidentifier()]
        assert not bad, f"{rule.code}: template fields must be plain names, not {bad}"
        assert template.rstrip().endswith("."), f"{rule.code}: {variant} is not a sentence"


@pytest.mark.parametrize("rule", CLAIM_RULES, ids=[r.code for r in CLAIM_RULES])
def test_message_fields_are_the_example_violation_values(rule: type[Rule]) -> None:
    """The example's violations fill every template field (the engine formats them the same way).

    DS001 and DS003 are not here: the adapters raise them; their examples run in the tests below.
    """
    options: Mapping[str, Any] = getattr(rule, "example_options", None) or {}
    claim = Claim.model_validate_json(example_document(rule.example))
    rs = ruleset(**options)
    ctx: Context | LedgerContext = Context(claim, rs.profile, mue=rs.mue)
    if rule.uses_ledger:
        ledger = Ledger.for_claim(claim, rs.profile)
        ctx = LedgerContext(ledger.facts, ledger, rs.profile)
    violations = list(rule().check(ctx))
    assert violations, f"{rule.code}: the example raises no violation of the rule itself"
    for v in violations:
        template = rule.template(v.variant)
        assert _fields(template) == set(v.values), f"{rule.code}: values are not the fields"
        template.format_map(v.values)


# --- every rule: the examples run ------------------------------------------------------------------


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_example_raises_exactly_its_code(rule: type[Rule]) -> None:
    document = example_document(rule.example)
    codes = _codes(_reports(rule, document))
    expected = sorted({rule.code, *rule.companions} & set(codes))
    assert rule.code in codes, f"the example raised {codes}"
    assert sorted(set(codes)) == expected, f"the example raised {codes}"
    if isinstance(rule.example, str):
        # A raw document (DS001, DS003) gets one finding per problem the adapter finds.
        assert codes == sorted(codes)
    else:
        assert parse_document(document).claim is not None, "the example is not a valid document"
        assert codes == expected, "each code exactly once, in catalog order"


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_use_instead_raises_nothing(rule: type[Rule]) -> None:
    reports = _reports(rule, example_document(rule.use_instead), "use_instead")
    assert reports
    messages = [f.message for report in reports for f in report.findings]
    assert not messages, f"use_instead raised {messages}"
    assert all(report.ok for report in reports)


# --- the spec's catalog table ----------------------------------------------------------------------


def _spec_rules_md() -> Path | None:
    candidates = [ROOT.parent / "shared" / "spec" / "RULES.md"]
    if env := os.environ.get("DSMT_SPEC_DIR"):
        candidates.insert(0, Path(env) / "RULES.md")
    return next((p for p in candidates if p.is_file()), None)


def _spec_table(path: Path) -> dict[str, tuple[str, str, str]]:
    """code -> (name, severity, needs) from the table under "## The catalog"."""
    text = path.read_text(encoding="utf-8")
    section = text.split("## The catalog", 1)[1]
    rows: dict[str, tuple[str, str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"DS\d{3}", cells[0]):
            rows[cells[0]] = (cells[1], cells[2], cells[3])
    return rows


@pytest.fixture(scope="module")
def spec_table() -> dict[str, tuple[str, str, str]]:
    path = _spec_rules_md()
    if path is None:
        pytest.skip(
            "the spec (../shared/spec/RULES.md, or $DSMT_SPEC_DIR/RULES.md) is not beside the "
            "project; catalog-versus-spec comparison not run"
        )
    table = _spec_table(path)
    assert table, f"no catalog table found in {path}"
    return table


def test_catalog_matches_the_spec_table(spec_table: dict[str, tuple[str, str, str]]) -> None:
    """Every rule the spec lists keeps its code, name, default severity and needs.

    Spec rules that are not implemented yet are allowed (later issues add them); so are codes the
    spec does not list (e.g. an adapter's own code), as long as they do not take a spec rule's name.
    """
    medicare = ruleset(profile="medicare")
    spec_names = {name: code for code, (name, _, _) in spec_table.items()}
    drift: list[str] = []
    for rule in CATALOG:
        if rule.code not in spec_table:
            if rule.name in spec_names:
                drift.append(f"{rule.code} takes the name of spec rule {spec_names[rule.name]}")
            continue
        name, severity, needs = spec_table[rule.code]
        if rule.name != name:
            drift.append(f"{rule.code}: name {rule.name!r}, spec says {name!r}")
        if rule.default_severity.value != severity:
            drift.append(f"{rule.code}: default severity {rule.default_severity}, spec {severity}")
        if medicare.severity_of(rule.code).value != severity:
            drift.append(f"{rule.code}: medicare profile severity differs from the spec")
        if rule.needs != needs:
            drift.append(f"{rule.code}: needs {rule.needs!r}, spec says {needs!r}")
    assert not drift, "\n".join(drift)


def _spec_carc_hints(path: Path) -> dict[str, set[str | None]]:
    """code -> acceptable CARC hints, from the spec's note "Every finding also carries a likely CARC".

    The note reads like ``151 for frequency/units (DS103, DS109), ... 11/167 for diagnosis (DS308,
    DS309 → 16), 16 for missing information (DS107, DS301-DS304, DS307)``; the spec writes ranges
    with an en dash.
    """
    text = " ".join(path.read_text(encoding="utf-8").split())
    start = text.find("likely* CARC")
    if start < 0:
        return {}
    note = text[start : text.find("It is a hint", start)]
    hints: dict[str, set[str | None]] = {}
    for match in re.finditer(r"\b([A-Z]?\d{1,3}(?:/[A-Z]?\d{1,3})*) for [^()]*\(([^)]*)\)", note):
        group: set[str | None] = set(match.group(1).split("/"))
        for segment in match.group(2).split(";"):
            segment = segment.strip()
            if segment.endswith(" none"):  # "DS004, DS311 none": no hint
                for c in re.findall(r"DS\d{3}", segment):
                    hints[c] = {None}
                continue
            for item in segment.split(","):
                code, _, own = (part.strip() for part in item.partition("→"))
                codes = re.findall(r"DS\d{3}", code)
                if len(codes) == 2:  # a range, DS301 to DS304
                    low, high = (int(c[2:]) for c in codes)
                    codes = [f"DS{n:03d}" for n in range(low, high + 1)]
                for c in codes:
                    hints[c] = {own} if own else group
    return hints


def test_carc_hints_match_the_spec_notes(spec_table: dict[str, tuple[str, str, str]]) -> None:
    path = _spec_rules_md()
    assert path is not None
    hints = _spec_carc_hints(path)
    assert hints, "the spec's CARC note could not be read"
    drift = [
        f"{rule.code}: carc_hint {rule.carc_hint!r}, spec note says one of {hints[rule.code]}"
        for rule in CATALOG
        if rule.code in hints and rule.carc_hint not in hints[rule.code]
    ]
    assert not drift, "\n".join(drift)
