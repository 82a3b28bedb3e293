"""AP invoice reconciliation: the pair scorer, the append-only review decisions store and its CLI."""
