"""The Hypothesis entry point: ``st.from_type(Claim)`` (and Session, Referral, ...) just works.

Hypothesis calls :func:`setup` while ``import hypothesis`` runs, in every environment that has
dsmt-rules installed, so it must cost nothing: this module imports nothing at import time, and
``dsmt_rules/__init__`` imports its names lazily. The strategies are registered for the model
classes whichever is imported first:

- models first (``dsmt_rules.models`` is in ``sys.modules`` when Hypothesis starts): :func:`setup`
  registers them now;
- Hypothesis first: ``dsmt_rules.models`` calls :func:`register` at the end of its own import.

Each registration is a function of the type, which Hypothesis calls only when a strategy for the
type is first asked for: ``dsmt_rules.strategies`` is imported then, never while either import is
under way (no half-imported module, whichever comes first).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

__all__ = ["register", "setup"]

_STRATEGIES = {
    "Claim": "claims",
    "Session": "sessions",
    "Referral": "referrals",
    "Instructor": "instructors",
    "Accreditation": "accreditations",
}
"""Model class -> the function of :mod:`dsmt_rules.strategies` that draws it."""


def register(models: ModuleType) -> None:
    """Register the strategies for the model classes of ``models`` (each built on first use)."""
    from hypothesis import strategies as st

    for class_name, function in _STRATEGIES.items():

        def build(_type: type, function: str = function) -> st.SearchStrategy[object]:
            # Bound late, by name, like the entry point itself: the strategies import the models
            # this module registers for, so a static import here would make a cycle.
            strategies = importlib.import_module("dsmt_rules.strategies")
            made: st.SearchStrategy[object] = getattr(strategies, function)()
            return made

        st.register_type_strategy(getattr(models, class_name), build)


def setup() -> None:
    """Called by Hypothesis (entry point ``hypothesis``) when it is imported."""
    models = sys.modules.get("dsmt_rules.models")
    if models is not None:
        register(models)
