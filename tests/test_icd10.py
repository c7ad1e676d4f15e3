"""The ICD-10-CM index: billable (leaf) codes from simple-icd-10-cm's code list, built lazily."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from dsmt_rules import ConfigError, _icd10


@pytest.fixture(scope="module")
def sicd() -> ModuleType:
    """The simple_icd_10_cm module itself (parses its XML: about 2 s, once per test module)."""
    with warnings.catch_warnings():
        # its import calls importlib.resources.read_text, deprecated on Python 3.11-3.12
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    module: ModuleType = simple_icd_10_cm
    return module


def _leaf(sicd: ModuleType, code: str) -> bool:
    """The package's answer, for codes only: block ranges and chapters are never billable codes."""
    return bool(sicd.is_leaf(code)) and "-" not in code and not code.isdigit()


@pytest.mark.parametrize(
    "code",
    ["E11.9", "E119", "e11.9", "E11.65", "E1165", "O24.410", "Z79.4", "R73.03", "E10.10", "I10"],
)
def test_billable_codes(code: str) -> None:
    assert _icd10.is_billable(code)


@pytest.mark.parametrize("code", ["E11", "E11.6", "E116", "O24", "O24.4", "R73", "R73.0", "E08"])
def test_categories_and_subcategories_are_not_billable(code: str) -> None:
    assert _icd10.is_known(code)
    assert not _icd10.is_billable(code)


@pytest.mark.parametrize(
    "code",
    [
        "E11.99",
        "E12",
        "E12.9",
        "",
        "E",
        "E1.19",
        "E11.",
        "E11..9",
        "E11 9",
        "XYZ",
        "E11.9 ",
        "A00-A09",
    ],
)
def test_garbage_and_unknown_codes_are_not_billable(code: str) -> None:
    assert not _icd10.is_billable(code)
    assert not _icd10.is_known(code)


@pytest.mark.parametrize("chapter", ["1", "4", "22"])
def test_chapter_numbers_are_not_codes(chapter: str) -> None:
    assert not _icd10.is_known(chapter)
    assert not _icd10.is_billable(chapter)


def test_normalize_and_dotted() -> None:
    assert _icd10.normalize("e11.65") == "E1165"
    assert _icd10.normalize("E1165") == "E1165"
    assert _icd10.dotted("e1165") == "E11.65"
    assert _icd10.dotted("E11.65") == "E11.65"
    assert _icd10.dotted("E11") == "E11"
    assert _icd10.dotted("not a code") == "not a code"


def test_names_are_not_code_shaped() -> None:
    # a message may echo a code-shaped value; a word is never echoed (PHI guard)
    assert not _icd10.is_code_shaped("JOHN")
    assert not _icd10.is_code_shaped("ANN")
    assert _icd10.is_code_shaped("C7A.00")
    assert _icd10.is_code_shaped("QA0.0101")


def test_code_set_version_names_the_list_file() -> None:
    version = _icd10.code_set_version()
    month, year = version.split(" ")
    assert _icd10.code_list_path().name == f"code-list-{month}-{year}.txt"
    assert int(year) >= 2024


def test_diabetes_categories_agree_with_the_package(sicd: ModuleType) -> None:
    codes: list[str] = []
    for category in ("E08", "E09", "E10", "E11", "E13", "O24", "R73"):
        codes += [category, *sicd.get_descendants(category)]
    assert len(codes) > 500
    mismatched = [c for c in codes if _icd10.is_billable(c) != _leaf(sicd, c)]
    assert mismatched == []
    assert sum(_icd10.is_billable(c) for c in codes) > 300


@pytest.mark.slow
def test_every_code_agrees_with_the_package(sicd: ModuleType) -> None:
    codes = sicd.get_all_codes()
    assert len(codes) > 90_000
    assert [c for c in codes if _icd10.is_billable(c) != _leaf(sicd, c)] == []
    undotted = sicd.get_all_codes(with_dots=False)
    assert [c for c in undotted if _icd10.is_billable(c) != _leaf(sicd, c)] == []


# --- locating the list without importing the package ------------------------------------------


@pytest.fixture
def fresh_index() -> Iterator[None]:
    """Clear the cached path and index before and after (the real ones rebuild on next use)."""
    from dsmt_rules.engine import _ruleset

    def clear() -> None:
        _icd10.code_list_path.cache_clear()
        _icd10._index.cache_clear()
        _icd10.shipped.cache_clear()
        _ruleset._cached_code_sets.cache_clear()
        _ruleset._cached_ruleset.cache_clear()

    clear()
    yield
    clear()


def _fake_package(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        if name == "simple_icd_10_cm":
            return SimpleNamespace(submodule_search_locations=[str(folder)])
        return real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.usefixtures("fresh_index")
def test_newest_code_list_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "code-list-October-2025.txt").write_text("E11\r\nE119\r\n", encoding="utf-8")
    (data / "code-list-January-2026.txt").write_text("E11\r\nE119\r\nE11A\r\n", encoding="utf-8")
    (data / "code-list-April-2025.txt").write_text("E11\r\n", encoding="utf-8")
    _fake_package(monkeypatch, tmp_path)
    assert _icd10.code_set_version() == "January 2026"
    assert _icd10.is_billable("E11.A")
    assert _icd10.is_billable("E11.9")
    assert not _icd10.is_billable("E11")


@pytest.mark.usefixtures("fresh_index")
def test_missing_code_list_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_package(monkeypatch, tmp_path)
    with pytest.raises(ConfigError, match="simple-icd-10-cm"):
        _icd10.is_billable("E11.9")


# --- laziness: import time is a feature ---------------------------------------------------------

_LAZY_SCRIPT = textwrap.dedent(
    """
    import sys
    import dsmt_rules
    from dsmt_rules import _icd10, check
    from dsmt_rules.rules._examples import BASE_CLAIM

    assert "simple_icd_10_cm" not in sys.modules, "import dsmt_rules imported simple_icd_10_cm"
    claim = dsmt_rules.Claim.model_validate(BASE_CLAIM)
    assert check(claim, ignore=["DS309", "DS311"]).findings == ()
    assert _icd10._index.cache_info().currsize == 0, "the index was built without DS309, DS311"
    assert check(claim).findings == ()
    assert _icd10._index.cache_info().currsize == 1
    assert "simple_icd_10_cm" not in sys.modules, "the index imported simple_icd_10_cm"
    print("lazy")
    """
)


def test_index_is_built_only_by_diagnosis_rules_and_never_imports_the_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LAZY_SCRIPT], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "lazy"


@pytest.mark.usefixtures("fresh_index")
def test_checking_without_diagnosis_rules_does_not_build_the_index() -> None:
    from helpers import claim_from, codes_of

    assert codes_of(claim_from({"diagnosis_codes": ["E11"]}), ignore=["DS309", "DS311"]) == []
    assert _icd10._index.cache_info().currsize == 0
    assert codes_of(claim_from({"diagnosis_codes": ["E11"]})) == ["DS309"]
    assert _icd10._index.cache_info().currsize == 1


@pytest.mark.usefixtures("fresh_index")
def test_list_lines_with_dots_and_descriptions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    text = "4\nE08-E13\nE11 Type 2 diabetes\nE11.9 Without complications\nE11.6\nE11.65 With\n"
    (data / "code-list-April-2027.txt").write_text(text, encoding="utf-8")
    _fake_package(monkeypatch, tmp_path)
    assert [
        c for c in ("E11", "E11.6", "E11.65", "E11.9", "4", "E08-E13") if _icd10.is_billable(c)
    ] == [
        "E11.65",
        "E11.9",
    ]
    assert _icd10.is_known("E11.6")
    assert not _icd10.is_known("E08")


@pytest.mark.usefixtures("fresh_index")
def test_empty_code_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "code-list-April-2027.txt").write_text("", encoding="utf-8")
    _fake_package(monkeypatch, tmp_path)
    assert not _icd10.is_billable("E11.9")
    assert not _icd10.is_known("E11.9")
