"""Hypothesis profiles (ci by default; DSMT_HYPOTHESIS_PROFILE=fuzz for `make fuzz`) and fixtures."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("DSMT_HYPOTHESIS_PROFILE", "ci"))
