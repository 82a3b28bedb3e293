"""Privacy: the scan for clear-text personal data in what BI reads, and the erasure of one data subject
(``python -m orchestration.privacy.erase``). Cross-domain (contracts, entity resolution, the review store),
hence here and not in a domain package; no Dagster definitions."""
