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
                The BI role the public marts are granted to (DBT_POSTGRES_BI_ROLE, default smb_bi), created
                NOLOGIN when missing (people log in as their own roles, members of it: GRANT smb_bi TO alice);
                a dbt user without CREATEROLE gets an error saying to create it.
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
{{ smb_warehouse.postgres_bi_role() }};
    {% endset -%}
    {{ return(statements) }}
{%- endmacro %}

{% macro spark__engine_setup() -%}
    {{ return('') }}
{%- endmacro %}

{#- The BI role of the public marts' `grants` (dbt_project.yml), created NOLOGIN when it does not exist. -#}
{% macro postgres_bi_role() -%}
    {%- set role = env_var('DBT_POSTGRES_BI_ROLE', 'smb_bi') -%}
    {%- if not modules.re.match('^[a-z_][a-z0-9_]{0,62}\\Z', role) -%}
        {{ exceptions.raise_compiler_error("DBT_POSTGRES_BI_ROLE must be a lower-case PostgreSQL identifier (letters, digits, _), not " ~ role) }}
    {%- endif -%}
do $smb_bi_role$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = '{{ role }}') then
        create role {{ role }} nologin;
    end if;
exception when insufficient_privilege then
    raise exception 'the BI role {{ role }} (DBT_POSTGRES_BI_ROLE) does not exist and this dbt user may not create it: run CREATE ROLE {{ role }} NOLOGIN as a superuser';
end
$smb_bi_role$
{%- endmacro %}
