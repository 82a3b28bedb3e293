"""dbt_project.yml's `vars`, so var() renders the value dbt would use (the jinja override in .sqlfluff)."""
from pathlib import Path

import yaml

VARS = yaml.safe_load((Path(__file__).resolve().parents[1] / "dbt_project.yml").read_text()).get("vars", {}) or {}
