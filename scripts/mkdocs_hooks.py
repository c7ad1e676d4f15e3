"""MkDocs hook (mkdocs.yml ``hooks:``): the navigation follows the docs that exist.

The rule pages (docs/rules/DS*.md, generated) go under "Rules" in code order, and any other page of
docs/ that mkdocs.yml's ``nav`` does not name (docs/spark.md, say) is appended, so a new page is
never left off the site and mkdocs.yml never names a page that is not there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _named(nav: Any) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_named(item) for item in nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*(_named(value) for value in nav.values())) if nav else set()
    return set()


def on_config(config: Any) -> Any:
    """Fill the "Rules" section and append the pages ``nav`` leaves out."""
    docs = Path(config["docs_dir"])
    nav: list[Any] = config["nav"]
    rules = [p.relative_to(docs).as_posix() for p in sorted((docs / "rules").glob("DS*.md"))]
    for item in nav:
        if isinstance(item, dict) and "Rules" in item:
            item["Rules"] = [*[r for r in item["Rules"] if r not in rules], *rules]
    named = _named(nav)
    nav.extend(
        path
        for path in (p.relative_to(docs).as_posix() for p in sorted(docs.rglob("*.md")))
        if path not in named
    )
    return config
