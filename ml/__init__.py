"""Model benchmarks and ML helpers that are not part of the scheduled pipeline."""
