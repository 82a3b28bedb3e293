{#-
  run_statements(statements): SQL for a hook that runs a list of statements, in order.
    DuckDB      the statements joined with `;` (dbt-duckdb runs a multi-statement string)
    PostgreSQL  the same (psycopg2 runs a multi-statement string)
    Spark       each statement run here, one at a time (dbt-spark's cursor parses one statement per call:
                `;` between two is a syntax error), and an empty string for the hook itself, which dbt then
                skips
-#}
{% macro run_statements(statements) -%}
    {{ return(adapter.dispatch('run_statements', 'smb_warehouse')(statements)) }}
{%- endmacro %}

{% macro default__run_statements(statements) -%}
    {{ return(statements | join(';\n') ~ (';' if statements else '')) }}
{%- endmacro %}

{% macro postgres__run_statements(statements) -%}
    {{ return(smb_warehouse.default__run_statements(statements)) }}
{%- endmacro %}

{% macro spark__run_statements(statements) -%}
    {%- if execute -%}
        {%- for statement in statements -%}
            {%- if statement | trim -%}{%- do run_query(statement) -%}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
