"""Fused screens: a ruleset's rule screens compiled into one function, one pass over a claim.

Each claim rule may carry a :class:`~dsmt_rules.rules._base.Screen`: expressions that are true
whenever the rule could find something. :func:`compile_screens` writes one Python function for a
ruleset (generated source, compiled once per ruleset, as dataclasses and attrs generate theirs)
that evaluates the claim-level expressions once and the line- and session-level expressions in a
single loop over the claim's DSMT lines, and returns a bit mask: bit ``k`` set means rule ``k``
must run. A rule without a screen always runs. The function returns ``-1`` for a claim without
DSMT lines (then only DS002 runs).

Profile numbers are bound as constants of the generated function (``P.group_min`` becomes a
global), and ``self.name`` in an expression is the rule class's attribute ``name`` (a helper the
rule shares with its ``check``), also bound once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dsmt_rules.models import Claim
from dsmt_rules.profiles import Profile
from dsmt_rules.rules._base import Rule

__all__ = ["ScreenFunction", "compile_screens"]

ScreenFunction = Callable[[Claim], int]

_PROFILE_ATTR = re.compile(r"\bP\.([a-z_]+)")
_SELF_ATTR = re.compile(r"\bself\.([A-Za-z_]+)")
_LINE_NAMES = ("units", "day", "pos", "minutes")


def _bind(expression: str, k: int, rule: type[Rule], profile: Profile, env: dict[str, Any]) -> str:
    def profile_constant(match: re.Match[str]) -> str:
        name = f"P_{match[1]}"
        env[name] = getattr(profile, match[1])
        return name

    def rule_attribute(match: re.Match[str]) -> str:
        name = f"R{k}_{match[1]}"
        env[name] = getattr(rule, match[1])
        return name

    return f"({_SELF_ATTR.sub(rule_attribute, _PROFILE_ATTR.sub(profile_constant, expression))})"


def compile_screens(
    rules: Sequence[type[Rule]],
    profile: Profile,
    mue: Mapping[str, int] | None,
    code_sets: object = None,
) -> ScreenFunction:
    """The fused screen of ``rules`` (bit ``k`` is ``rules[k]``) under ``profile``, ``mue`` and
    the ICD-10-CM ``code_sets``."""
    env: dict[str, Any] = {"MUE": mue, "DSMT": profile.dsmt_codes, "ICD": code_sets}
    always = 0
    claim_tests: list[str] = []
    line_tests: list[str] = []
    session_tests: list[str] = []
    for k, rule in enumerate(rules):
        screen = rule.screen
        bit = 1 << k
        if screen is None:
            always |= bit
            continue
        for expression, tests in (
            (screen.claim, claim_tests),
            (screen.line, line_tests),
            (screen.session, session_tests),
        ):
            if expression:
                tests.append(f"if {_bind(expression, k, rule, profile, env)}: hits |= {bit}")
    body = line_tests + session_tests + claim_tests
    text = "\n".join(body)
    src = [
        "def screen(claim):",
        f"    hits = {always}",
        "    referral = claim.referral",
        "    provider = claim.billing_provider",
        "    accreditation = provider.accreditation",
        "    codes = claim.diagnosis_codes",
        "    sessions = claim.sessions",
        "    count = len(sessions)",
        "    if count == 1:",
        "        only = sessions[0]",
        "        only_id = only.session_id",
        "    elif count:",
        "        index = {x.session_id: x for x in sessions}",
        "        dated = {(x.session_id, x.date): x for x in sessions}",
        "    dsmt = 0",
        "    for line in claim.lines:",
        "        code = line.hcpcs",
        "        if code not in DSMT:",
        "            continue",
        "        dsmt += 1",
    ]
    if line_tests or session_tests:
        src += [
            "        ids = line.session_ids",
            "        if not ids or not count:",
            "            linked = ()",
            "        elif count == 1:",
            "            linked = (only,) if only_id in ids else ()",
            "        else:",
            "            day = line.service_date",
            "            picked = [dated.get((i, day)) or index.get(i) for i in dict.fromkeys(ids)]",
            "            linked = tuple({id(x): x for x in picked if x is not None}.values())",
        ]
        if re.search(r"\bunits\b", text):
            src.append("        units = line.units")
        if re.search(r"\bday\b", text):
            src.append("        day = line.service_date")
        if re.search(r"\bpos\b", text):
            src.append("        pos = line.place_of_service")
        if re.search(r"\bminutes\b", text):
            src += [
                "        minutes = 0",
                "        for s in linked:",
                "            minutes += s.minutes",
            ]
        src += [f"        {test}" for test in line_tests]
        if session_tests:
            src.append("        for s in linked:")
            src += [f"            {test}" for test in session_tests]
    src += ["    if not dsmt:", "        return -1"]
    src += [f"    {test}" for test in claim_tests]
    src.append("    return hits")
    namespace: dict[str, Any] = dict(env)
    exec(compile("\n".join(src), f"<dsmt-rules screens of {len(rules)} rules>", "exec"), namespace)
    function: ScreenFunction = namespace["screen"]
    function.__doc__ = "\n".join(src)  # the generated source, for a reader who wonders
    return function
