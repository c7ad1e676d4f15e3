"""Rule families, one module each. The catalog (``dsmt_rules.catalog``) lists every rule explicitly.

- ``document``: DS0xx, the record itself (DS001 invalid document, DS002 no DSMT lines)
- ``coding``: DS1xx, units, time, group size, sessions, duplicates
- ``provider``: DS2xx, accreditation, NPIs, instructors, RHC/FQHC
- ``referral``: DS3xx, the order and the diagnoses
- ``limits``: DS4xx, the initial and follow-up hour caps, and DS305/DS310, the referral's hours and
  phase: every rule that needs the beneficiary's history (``ctx.ledger``)
- ``setting``: DS5xx-DS6xx, MNT on the same day, place of service, bill type, telehealth
"""
