"""Input adapters: they translate formats into :class:`~dsmt_rules.engine.Record` values and never judge.

``jsonl`` (JSON Lines, a JSON array or one JSON document) needs nothing extra. ``x12`` and ``fhir``
need the extras ``dsmt-rules[x12]`` / ``dsmt-rules[fhir]`` and are imported only when used.
"""
