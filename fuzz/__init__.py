"""The fuzz harness (``make fuzz``, ``make fuzz-short``): see :mod:`fuzz.harness`."""
