"""X12 837P / 837I input: a streaming reader of its own, and pyx12's full validation as an option.

:func:`read_records` yields one :class:`~dsmt_rules.engine.Record` per CLM segment, in file order,
and a record without a claim for what holds no claim but must not be dropped (a functional group
that is not an 837P/837I, a transaction set without claims that has errors, envelope trailer
errors, a file that is not X12). Structural errors become DS003 findings with the segment position
in ``source``; a claim whose fields do not fit the claim document gets DS001.

Two readers share one mapping (the segments of each claim to the claim document; docs/formats.md
has the mapping and the decisions behind it) and one way of filing errors with claims:

- the default reader (:mod:`~dsmt_rules.adapters._x12read` over
  :mod:`~dsmt_rules.adapters._x12scan`, no dependency) splits each segment once
  with the separators of its ISA, names each segment's loop from the HL hierarchy and segment ids,
  and checks the envelope as it goes: ISA/IEA, GS/GE and ST/SE control numbers and counts, HL
  numbering and parent links, empty segments, missing trailers. Memory holds one claim (and the
  one before it, which takes the transaction set's trailer errors) and the HL levels above it.
- ``validate=True`` (``dsmt-rules check --x12-validate``, extra ``dsmt-rules[x12]``) reads with
  pyx12 (:mod:`~dsmt_rules.adapters._x12validate`): the full implementation-guide validation of
  every segment and element, at pyx12's speed.

Adapters only translate: nothing here judges a claim. Messages name segments, elements and codes,
never their values (an 837 is full of PHI).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from dsmt_rules.adapters._x12read import SUPPORTED_VERSIONS, read_default
from dsmt_rules.records import Record

__all__ = ["SUPPORTED_VERSIONS", "read_records"]


def read_records(
    stream: IO[bytes] | IO[str], *, name: str = "-", validate: bool = False
) -> Iterator[Record]:
    """Yield one record per claim (CLM segment) of an X12 837P/837I input, in file order.

    ``name`` (the file name, ``-`` for stdin) starts every ``source``. Records without a claim carry
    the structure problems (DS003) that belong to no claim. The stream is read once, in chunks.
    ``validate`` reads with pyx12 instead, validating every segment against the implementation
    guide (needs the extra ``dsmt-rules[x12]``; a few hundred claims per second).
    """
    if validate:
        from dsmt_rules.adapters._x12validate import read_validated

        return read_validated(stream, name=name)
    return read_default(stream, name=name)
