{#-
  engine_setup(): statements that make an engine ready for the other macros of this folder, run once per
  dbt invocation by `on-run-start` (dbt_project.yml), before any model. Idempotent. Each statement ends
  with `;` so the hook can go on with more SQL; empty where an engine needs nothing.
    DuckDB      nothing (every function the macros use is built in)
    PostgreSQL  the fuzzystrmatch extension, for levenshtein() in edit_distance(), and the function
                <target schema>.smb_jaro_winkler_similarity(text, text) behind name_similarity() (see there).
                fuzzystrmatch is a trusted extension since PostgreSQL 13: a user with CREATE on the
                database may create it; without that right the hook fails loudly naming it. (strip_accents()
                uses the built-in normalize(), not the unaccent extension.)
    Spark       nothing (levenshtein() is built in)
-#}
{% macro engine_setup() -%}
    {{ return(adapter.dispatch('engine_setup', 'smb_warehouse')()) }}
{%- endmacro %}

{% macro default__engine_setup() -%}
    {{ return('') }}
{%- endmacro %}

{% macro postgres__engine_setup() -%}
    {%- set schema = adapter.quote(target.schema) -%}
    {%- set statements -%}
create extension if not exists fuzzystrmatch;
create schema if not exists {{ schema }};
{{ smb_warehouse.postgres_jaro_winkler_function(schema) }};
    {% endset -%}
    {{ return(statements) }}
{%- endmacro %}

{% macro spark__engine_setup() -%}
    {{ return('') }}
{%- endmacro %}
