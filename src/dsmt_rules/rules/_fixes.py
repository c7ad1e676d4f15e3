"""The mechanical repairs rules attach to their violations (docs/fixes.md).

A :class:`~dsmt_rules.findings.Fix` is a title and edits on the claim document, each at a ``loc``
as a finding's, checked against the value it replaces. The rules build them with these helpers,
so every fix of a kind reads the same: a code swap (DS104, DS106), a unit count (DS103 and the
caps, DS305, DS401, DS403) and the removal of a line (DS110, and a line whose units are all over).
Titles carry codes, counts and line ids only (never PHI). Which fixes are safe, and why, is
documented on each rule (``autofix``) and in docs/fixes.md.
"""

from __future__ import annotations

from dsmt_rules.findings import Applicability, Edit, Fix

__all__ = ["SAFE", "UNSAFE", "cut_units", "remove_line", "set_units", "swap_code", "units_text"]

SAFE = Applicability.SAFE
UNSAFE = Applicability.UNSAFE


def units_text(units: int) -> str:
    """``1 unit``, ``2 units``."""
    return f"{units} unit" if units == 1 else f"{units} units"


def swap_code(index: int, old: str, new: str, title: str) -> Fix:
    """Bill line ``index`` under ``new`` instead of ``old`` (safe: attendance on record decides)."""
    return Fix(SAFE, title, (Edit(("lines", index, "hcpcs"), old, new),))


def remove_line(index: int, line_id: str, applicability: Applicability, title: str) -> Fix:
    """Remove line ``index`` (its ``line_id`` guards the edit)."""
    return Fix(applicability, title, (Edit(("lines", index), line_id, None),))


def set_units(index: int, units: int, to: int, applicability: Applicability, title: str) -> Fix:
    """Bill ``to`` units on line ``index`` instead of ``units`` (``to`` at least 1)."""
    return Fix(applicability, title, (Edit(("lines", index, "units"), units, to),))


def cut_units(index: int, line_id: str, units: int, over: int, limit: str) -> Fix:
    """The unsafe repair of a line past a cap (DS305, DS401, DS403): bill ``over`` units fewer,
    or remove the line when all of its units are over. ``limit`` names the cap in the title.

    Unsafe: the units over are counted against services outside the line (the history and, in a
    batch, the beneficiary's other claims), and which service gives up its units is a choice.
    """
    left = units - over
    if left < 1:
        return remove_line(
            index,
            line_id,
            UNSAFE,
            f"Remove line {line_id}: all {units} of its units are over {limit}",
        )
    return set_units(
        index,
        units,
        left,
        UNSAFE,
        f"Bill {units_text(left)} on line {line_id}, not {units} ({over} over {limit})",
    )
