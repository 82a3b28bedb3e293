"""Publishing: the atomic swap of the candidate warehouse and the dbt docs site."""
