"""Circuit breakers of the AI workflows: the copy of the safe-mode store into the warehouse."""
