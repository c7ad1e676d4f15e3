"""``python -m dsmt_rules``: the same as the ``dsmt-rules`` command."""

from dsmt_rules.cli import main

raise SystemExit(main())
