#!/usr/bin/env python3
"""Generate docs/profile.md, the profile reference, from the Profile model's field descriptions.

    python scripts/gen_profile_docs.py           # write docs/profile.md
    python scripts/gen_profile_docs.py --check   # write nothing; exit 1 if it is missing or stale

The page is rendered by ``dsmt_rules.profiles._reference``: each parameter's type and constraints,
its ``medicare`` value and its description, then the cross-field checks. Only the standard library
and dsmt_rules are used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "profile.md"

try:
    from dsmt_rules.exceptions import DsmtRulesError
    from dsmt_rules.profiles._reference import render_profile_reference
except ImportError:  # run from a source tree without an install
    sys.path.insert(0, str(ROOT / "src"))
    from dsmt_rules.exceptions import DsmtRulesError
    from dsmt_rules.profiles._reference import render_profile_reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the page is out of date"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="the page to write or check (default: docs/profile.md of this project)",
    )
    args = parser.parse_args(argv)
    output: Path = args.output
    try:
        text = render_profile_reference()
    except DsmtRulesError as exc:
        print(f"gen_profile_docs: {exc}", file=sys.stderr)
        return 2
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if args.check:
        if current == text:
            print(f"{output}: up to date.")
            return 0
        state = "missing" if current is None else "outdated"
        print(
            f"{state}: {output}\nrun `make docs` (python scripts/gen_profile_docs.py) and commit "
            "the result.",
            file=sys.stderr,
        )
        return 1
    if current != text:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {output}")
    else:
        print(f"{output}: up to date.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
