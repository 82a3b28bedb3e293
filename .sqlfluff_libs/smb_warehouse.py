"""`smb_warehouse.<macro>` for sqlfluff's jinja templater (see .sqlfluff): the project's macros by their
namespaced name, as dbt resolves them. Not used by dbt."""
import jinja2
from sqlfluff.core.templaters.builtins.dbt import MacroReturn


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)

    @jinja2.pass_context
    def call(context, *args, **kwargs):
        try:
            return context[name](*args, **kwargs)
        except MacroReturn as returned:
            return returned.value

    return call
