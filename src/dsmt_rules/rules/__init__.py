"""Rule families, one module each: a rule lives in the module of its code's family (a test asserts it).

The catalog (``dsmt_rules.catalog``) lists every rule explicitly.

- ``document``: DS0xx, the record itself (DS001 invalid document, DS002 no DSMT lines, DS003 X12
  structure)
- ``coding``: DS1xx, units, time, group size, sessions, duplicates
- ``provider``: DS2xx, accreditation, NPIs, instructors, RHC/FQHC
- ``referral``: DS3xx, the order (its signature, referrer, dates, hours and phase) and the diagnoses
- ``limits``: DS4xx, the initial and follow-up hour caps
- ``same_day``: DS5xx, DSMT and MNT on the same day
- ``setting``: DS6xx, place of service, bill type, telehealth
"""

FAMILIES: dict[str, str] = {
    "0": "document",
    "1": "coding",
    "2": "provider",
    "3": "referral",
    "4": "limits",
    "5": "same_day",
    "6": "setting",
}
"""The family digit of a code (``DS1xx`` -> ``"1"``) -> the module of ``dsmt_rules.rules`` it lives in."""
