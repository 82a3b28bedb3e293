"""Support triage: ticket category / priority classifiers and knowledge-base retrieval."""
