"""Benchmarks: `python -m benchmarks.<name>`; they print figures measured side by side, they do not gate (pytest does)."""
