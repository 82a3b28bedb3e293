"""Benchmarks: `python -m ml.benchmarks.<name>`; they measure, they do not gate (pytest does)."""
