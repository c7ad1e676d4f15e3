"""Settings: what configures a check, whichever way it was given (command line, Python).

:class:`Settings` holds the resolved values; :func:`build_ruleset` compiles the rule selection,
profile and MUE table they name. The command line only maps its options onto these fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dsmt_rules.engine import Ruleset, ruleset

__all__ = ["DEFAULT_BATCH_MEMORY", "Settings", "build_ruleset", "split_codes"]

DEFAULT_BATCH_MEMORY = 64
"""MiB a batch holds before it spills (each of its two stages)."""


def split_codes(values: Iterable[str]) -> tuple[str, ...]:
    """``("DS1,DS2", "DS301")`` -> ``("DS1", "DS2", "DS301")`` (empty items dropped)."""
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """The options that choose and configure the rules and how records are read."""

    profile: str = "medicare"
    select: tuple[str, ...] | None = None
    """``None`` when no selection is given (every rule); ``()`` selects none."""
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    """Reference data files (JSON Lines) that complete the claims."""
    mue_file: str | None = None
    """A CMS MUE CSV file for DS109."""
    icd10cm_files: tuple[str, ...] = ()
    """CMS ICD-10-CM code files (``FY=PATH`` or ``PATH``) on top of the shipped releases."""
    batch_memory: int = DEFAULT_BATCH_MEMORY
    """MiB a batch holds (claims waiting for their beneficiary, then reports) before it spills."""
    temp_dir: str | None = None
    """Where a batch spills (None: the system's temporary directory)."""
    engine: str = "default"
    """``default`` (this process) or ``spark`` (:mod:`dsmt_rules.spark`; the same reports)."""
    spark_master: str | None = None
    """The Spark master for ``engine="spark"`` (``local[2]``, ...; None: spark-submit's, else
    ``local[*]``)."""


def build_ruleset(settings: Settings) -> Ruleset:
    """The compiled profile and rule selection (raises ConfigError on a bad setting)."""
    mue = None
    if settings.mue_file is not None:
        from dsmt_rules.mue import load_mue

        mue = load_mue(settings.mue_file)
    return ruleset(
        profile=settings.profile,
        select=settings.select,
        extend_select=settings.extend_select,
        ignore=settings.ignore,
        severity=settings.severity,
        mue=mue,
        icd10cm_files=settings.icd10cm_files,
    )
