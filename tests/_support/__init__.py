"""Test-only helpers kept out of the library: seeded synthetic identifiers (``pii_synth``), the
fixed lineage example (``lineage_example``) and a guarded marketing-output writer
(``marketing_outputs``).

Tests import them as ``_support.<module>`` (``tests/`` is on pytest's path through its root
``conftest.py``); benchmarks put ``tests/`` on ``sys.path`` first.
"""
