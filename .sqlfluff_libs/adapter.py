"""`adapter` for sqlfluff's jinja templater (see .sqlfluff): dispatch to the DuckDB implementation of a
project macro, quote identifiers the DuckDB way. Not used by dbt."""
import jinja2
from sqlfluff.core.templaters.builtins.dbt import MacroReturn


def dispatch(macro_name, macro_namespace=None):
    @jinja2.pass_context
    def call(context, *args, **kwargs):
        for prefix in ("duckdb__", "default__"):
            macro = context.get(prefix + macro_name)
            if macro is not None:
                try:
                    return macro(*args, **kwargs)
                except MacroReturn as returned:
                    return returned.value
        raise NameError(f"no duckdb__/default__ implementation of {macro_name}")

    return call


def quote(identifier):
    return f'"{identifier}"'
