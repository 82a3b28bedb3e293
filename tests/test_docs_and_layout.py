"""The README is the user's door: its contract section must match the contracts, and the commands it
names must exist."""
from __future__ import annotations

import re

from smb_warehouse.core.paths import PROJECT_ROOT
from smb_warehouse.ingestion.contract_docs import render, updated_readme
from smb_warehouse.ingestion.contracts import all_entities


def test_readme_contract_section_is_up_to_date():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert updated_readme(readme) == readme, "run: python -m smb_warehouse.ingestion.contract_docs --write"
    for entity in all_entities():
        assert f"**{entity.system}/{entity.name}**" in render()


def test_readme_commands_exist_in_makefile_and_ci_runs_the_test_command():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    for target in set(re.findall(r"`?make ([\w-]+)", readme)):
        assert re.search(rf"^{target}:", makefile, re.M), f"README names `make {target}` but the Makefile lacks it"
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()
