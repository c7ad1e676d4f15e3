"""The profile reference is generated and current, configuration.md names every key, and the docs
site's navigation hook puts every page of docs/ on the site."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from dsmt_rules.profiles import Profile
from dsmt_rules.profiles._reference import render_profile_reference
from dsmt_rules.settings import OPTION_KEYS, setting_keys

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SCRIPT = ROOT / "scripts" / "gen_profile_docs.py"


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, cwd=ROOT
    )


def test_profile_reference_is_up_to_date() -> None:
    assert (DOCS / "profile.md").read_text(encoding="utf-8") == render_profile_reference(), (
        "docs/profile.md is out of date; run `make docs`"
    )


def test_profile_reference_documents_every_parameter() -> None:
    text = render_profile_reference()

    for name, field in Profile.model_fields.items():
        assert f"| `{name}`" in text
        assert field.description is not None
        assert field.description in text


def test_check_mode_fails_on_a_stale_page_and_writes_nothing(tmp_path: Path) -> None:
    page = tmp_path / "profile.md"
    assert _run_script("--check", "--output", str(page)).returncode == 1  # missing
    assert not page.exists()

    assert _run_script("--output", str(page)).returncode == 0
    assert _run_script("--check", "--output", str(page)).returncode == 0

    page.write_text(page.read_text(encoding="utf-8").replace("group_max", "group_maxx"))
    result = _run_script("--check", "--output", str(page))
    assert result.returncode == 1
    assert result.stderr.startswith(f"outdated: {page}\n")
    assert "group_maxx" in page.read_text(encoding="utf-8")


def test_configuration_page_documents_every_key() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")

    missing = [key for key in (*setting_keys(), *OPTION_KEYS) if f"| `{key}` |" not in text]

    assert missing == [], f"docs/configuration.md has no row for {missing}"


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mkdocs_hooks", ROOT / "scripts" / "mkdocs_hooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nav_hook_adds_rule_pages_in_code_order_and_unnamed_pages(tmp_path: Path) -> None:
    for name in ("index.md", "batch.md", "spark.md", "rules/README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# page\n", encoding="utf-8")
    for name in ("DS104-group-too-small.md", "DS001-invalid-document.md"):
        (tmp_path / "rules" / name).write_text("# rule\n", encoding="utf-8")
    config: dict[str, Any] = {
        "docs_dir": str(tmp_path),
        "nav": [{"Home": "index.md"}, {"Rules": ["rules/README.md"]}, {"Batch": "batch.md"}],
    }

    _hooks().on_config(config)

    assert config["nav"] == [
        {"Home": "index.md"},
        {
            "Rules": [
                "rules/README.md",
                "rules/DS001-invalid-document.md",
                "rules/DS104-group-too-small.md",
            ]
        },
        {"Batch": "batch.md"},
        "spark.md",
    ]


def test_mkdocs_yml_names_only_pages_that_exist() -> None:
    import yaml  # mkdocs' own dependency (the docs extra, installed for the tests)

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    named = _hooks()._named(nav)

    assert named
    assert sorted(p for p in named if not (DOCS / p).is_file()) == []
