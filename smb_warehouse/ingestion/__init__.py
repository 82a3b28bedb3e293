"""Contract-driven ingestion: one generic loader for every source system."""
