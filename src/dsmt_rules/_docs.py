"""Render rule documentation (Markdown) from the rule classes: used by scripts/gen_rule_docs.py and
``dsmt-rules explain``. One source: the class docstring and metadata."""

from __future__ import annotations

import inspect

from dsmt_rules.rules._base import Rule
from dsmt_rules.rules._examples import example_document

__all__ = ["render_rule"]


def render_rule(rule: type[Rule]) -> str:
    """The Markdown page of one rule."""
    doc = inspect.cleandoc(rule.__doc__ or "")
    title, _, body = doc.partition("\n")
    lines = [
        f"# {rule.code} {rule.name}",
        "",
        f"*{title.strip()}*",
        "",
        f"- Default severity: `{rule.default_severity.value}`",
        f"- Citation: {rule.citation}",
        f"- Likely CARC (hint): {rule.carc_hint or '—'}",
        f"- Needs: {rule.needs}",
        "",
        body.strip(),
        "",
        "## Example",
        "",
        "```json",
        example_document(rule.example),
        "```",
        "",
        "## Use instead",
        "",
        "```json",
        example_document(rule.use_instead),
        "```",
        "",
    ]
    return "\n".join(lines)
