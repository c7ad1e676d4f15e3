#!/usr/bin/env python3
"""Generate docs/rules/ from the rule catalog: one page per rule and the README.md index.

    python scripts/gen_rule_docs.py           # write the pages, delete pages of removed rules
    python scripts/gen_rule_docs.py --check   # write nothing; exit 1 if a page is missing, stale or extra

The pages are rendered by ``dsmt_rules._docs`` from the rule classes (docstring, metadata, and the
findings their examples actually raise). Only the standard library and dsmt_rules are used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "docs" / "rules"

try:
    from dsmt_rules._docs import INDEX_NAME, render_pages
    from dsmt_rules.exceptions import DsmtRulesError
except ImportError:  # run from a source tree without an install
    sys.path.insert(0, str(ROOT / "src"))
    from dsmt_rules._docs import INDEX_NAME, render_pages
    from dsmt_rules.exceptions import DsmtRulesError


def _display(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def plan(docs_dir: Path) -> tuple[dict[str, str], list[str], list[str], list[str]]:
    """The pages to write, and the names of missing, outdated and stale files in ``docs_dir``."""
    pages = render_pages()
    missing: list[str] = []
    outdated: list[str] = []
    for name, text in pages.items():
        path = docs_dir / name
        if not path.is_file():
            missing.append(name)
        elif path.read_text(encoding="utf-8") != text:
            outdated.append(name)
    on_disk = {p.name for p in docs_dir.glob("DS*.md")} if docs_dir.is_dir() else set()
    stale = sorted(on_disk - pages.keys())
    return pages, missing, outdated, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that are missing, outdated or stale",
    )
    parser.add_argument(
        "--docs-dir",
        type=Path,
        default=DEFAULT_DIR,
        help="the directory of the rule pages (default: docs/rules of this project)",
    )
    args = parser.parse_args(argv)
    docs_dir: Path = args.docs_dir
    try:
        pages, missing, outdated, stale = plan(docs_dir)
    except DsmtRulesError as exc:
        print(f"gen_rule_docs: {exc}", file=sys.stderr)
        return 2

    if args.check:
        problems = (
            [f"missing: {_display(docs_dir / n)}" for n in missing]
            + [f"outdated: {_display(docs_dir / n)}" for n in outdated]
            + [f"stale (rule not in the catalog): {_display(docs_dir / n)}" for n in stale]
        )
        if problems:
            print("\n".join(problems), file=sys.stderr)
            print(
                f"{len(problems)} rule doc file(s) out of date; run `make docs` "
                "(python scripts/gen_rule_docs.py) and commit the result.",
                file=sys.stderr,
            )
            return 1
        print(f"{_display(docs_dir)}: {len(pages)} files up to date.")
        return 0

    docs_dir.mkdir(parents=True, exist_ok=True)
    for name in [*missing, *outdated]:
        (docs_dir / name).write_text(pages[name], encoding="utf-8", newline="\n")
        print(f"wrote {_display(docs_dir / name)}")
    for name in stale:
        (docs_dir / name).unlink()
        print(f"deleted {_display(docs_dir / name)}")
    changed = len(missing) + len(outdated) + len(stale)
    rules = len(pages) - (1 if INDEX_NAME in pages else 0)
    print(f"{_display(docs_dir)}: {rules} rule pages and the index; {changed} file(s) changed.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
