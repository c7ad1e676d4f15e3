"""The generated rule docs (docs/rules/) are up to date, their links resolve, and the generator works."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dsmt_rules._docs import INDEX_NAME, render_index, render_pages, render_rule
from dsmt_rules.catalog import CATALOG
from dsmt_rules.rules._base import Rule
from dsmt_rules.rules._examples import example_document

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RULE_DOCS = DOCS / "rules"
SCRIPT = ROOT / "scripts" / "gen_rule_docs.py"

ids = [rule.code for rule in CATALOG]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def _local_links(markdown: str) -> list[str]:
    return [t for t in _LINK.findall(markdown) if not re.match(r"[a-z]+:", t)]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return render_pages()


def test_generated_docs_are_up_to_date(pages: dict[str, str]) -> None:
    outdated = [
        name
        for name, text in pages.items()
        if not (RULE_DOCS / name).is_file()
        or (RULE_DOCS / name).read_text(encoding="utf-8") != text
    ]
    stale = sorted({p.name for p in RULE_DOCS.glob("DS*.md")} - pages.keys())
    assert not outdated, f"docs/rules out of date: {outdated}; run `make docs`"
    assert not stale, f"docs/rules has pages of rules not in the catalog: {stale}; run `make docs`"


def test_check_mode_passes_on_the_repository() -> None:
    result = _run_script("--check")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_check_mode_reports_missing_outdated_and_stale_without_writing(tmp_path: Path) -> None:
    assert _run_script("--docs-dir", str(tmp_path)).returncode == 0
    first = CATALOG[0]
    (tmp_path / f"{first.slug()}.md").write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / INDEX_NAME).unlink()
    (tmp_path / "DS999-retired-rule.md").write_text("# DS999\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not generated\n", encoding="utf-8")

    result = _run_script("--check", "--docs-dir", str(tmp_path))

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith("missing:") and line.endswith(INDEX_NAME) for line in lines)
    assert any(
        line.startswith("outdated:") and line.endswith(f"{first.slug()}.md") for line in lines
    )
    assert any(
        line.startswith("stale") and line.endswith("DS999-retired-rule.md") for line in lines
    )
    assert not any("notes.md" in line for line in lines)
    # --check wrote nothing
    assert (tmp_path / f"{first.slug()}.md").read_text(encoding="utf-8") == "edited by hand\n"
    assert not (tmp_path / INDEX_NAME).exists()
    assert (tmp_path / "DS999-retired-rule.md").exists()


def test_generate_writes_every_page_and_deletes_stale_ones(
    tmp_path: Path, pages: dict[str, str]
) -> None:
    (tmp_path / "DS999-retired-rule.md").write_text("# DS999\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not generated\n", encoding="utf-8")

    result = _run_script("--docs-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*pages, "notes.md"])
    for name, text in pages.items():
        assert (tmp_path / name).read_text(encoding="utf-8") == text
    assert _run_script("--check", "--docs-dir", str(tmp_path)).returncode == 0
    again = _run_script("--docs-dir", str(tmp_path))
    assert "0 file(s) changed" in again.stdout


def test_index_links_every_rule_page_and_nothing_else() -> None:
    index = (RULE_DOCS / INDEX_NAME).read_text(encoding="utf-8")
    links = _local_links(index)
    missing = [link for link in links if not (RULE_DOCS / link).is_file()]
    assert not missing, f"links to missing pages in docs/rules/README.md: {missing}"
    assert links == [f"{rule.slug()}.md" for rule in CATALOG]


def test_every_local_link_in_the_docs_resolves() -> None:
    broken = []
    for page in sorted(DOCS.rglob("*.md")):
        for link in _local_links(page.read_text(encoding="utf-8")):
            if not (page.parent / link).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {link}")
    assert not broken, broken


def test_rendering_is_deterministic_and_has_no_local_paths(pages: dict[str, str]) -> None:
    assert render_pages() == pages
    for name, text in pages.items():
        assert str(ROOT) not in text, name
        assert text.endswith("\n")
        assert not text.endswith("\n\n"), name


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_rule_page_shows_metadata_docs_and_example_outcomes(rule: type[Rule]) -> None:
    page = render_rule(rule)
    lines = page.splitlines()
    assert lines[0] == f"# {rule.code} {rule.name}"
    for needle in (
        f"| Code | `{rule.code}` |",
        "Likely CARC (a hint",
        rule.citation,
        "## What it checks",
        "## Why it matters",
        "## References",
    ):
        assert needle in page, needle
    example, _, use_instead = page.partition("\n## Example\n")[2].partition("\n## Use instead\n")
    assert f"- `{rule.code}` (" in example
    assert "No findings." not in example
    assert use_instead.rstrip().endswith("No findings.")
    assert "- `" not in use_instead


def test_index_lists_code_name_severity_citation() -> None:
    index = render_index()
    assert index.startswith("# Rules\n")
    for rule in CATALOG:
        row = next(line for line in index.splitlines() if line.startswith(f"| [{rule.code}]("))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"`{rule.name}`"
        assert cells[2] == rule.default_severity.value
        assert cells[3] == rule.citation.replace("|", "\\|")


@pytest.mark.parametrize("rule", CATALOG, ids=ids)
def test_rule_page_shows_the_documents_the_tests_check(rule: type[Rule]) -> None:
    examples = render_rule(rule).partition("\n## Example\n")[2]
    blocks = re.findall(r"^```(\w+)\n(.*?)\n```$", examples, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2, "an Example and a Use instead document"
    for (_, shown), example in zip(blocks, (rule.example, rule.use_instead), strict=True):
        document = example_document(example)
        if isinstance(example, str):
            assert shown == document
        else:
            assert json.loads(shown) == json.loads(document)
