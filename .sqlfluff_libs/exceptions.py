"""`exceptions` for sqlfluff's jinja templater (see .sqlfluff). Not used by dbt."""


def raise_compiler_error(message):
    raise RuntimeError(message)
