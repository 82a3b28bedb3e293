"""`dbt.<macro>` for sqlfluff's jinja templater (see .sqlfluff): the DuckDB renderings of the few dbt
cross-database macros the project uses. Not used by dbt."""


def type_string():
    return "text"


def position(substring_text, string_text):
    return f"position({substring_text} in {string_text})"
