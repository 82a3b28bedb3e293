{#-
  contract_data_type(data_type): a `data_type` of the model ymls (enforced contracts and the column types of
  the Python-written sources: varchar, double precision, double, decimal(p,s), integer, bigint, boolean, date,
  timestamp, json) in the engine's spelling, for the casts dbt's contract check builds from the yml.
    DuckDB      as written (DuckDB reads every one of them)
    PostgreSQL  as written (same)
    Spark       varchar/json -> string (Spark SQL 3.5 takes varchar only with a length and has no json type:
                JSON is its text), double precision -> double; the others as written
  Spark's contract check goes through it: spark__get_empty_schema_sql below overrides dbt-spark's (dbt's
  default casts the yml type as written), so the yml keeps one set of names for the three engines.
-#}
{% macro contract_data_type(data_type) -%}
    {{ return(adapter.dispatch('contract_data_type', 'smb_warehouse')(data_type)) }}
{%- endmacro %}

{% macro default__contract_data_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro postgres__contract_data_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro spark__contract_data_type(data_type) -%}
    {%- set spelled = data_type | trim | lower -%}
    {%- if spelled in ('varchar', 'text', 'json') or spelled.startswith('varchar(') -%}
        {{ return('string') }}
    {%- elif spelled == 'double precision' -%}
        {{ return('double') }}
    {%- endif -%}
    {{ return(data_type) }}
{%- endmacro %}

{#- dbt's contract check on Spark: the yml's types through contract_data_type() (dbt-spark has no override). -#}
{% macro spark__get_empty_schema_sql(columns) %}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name] -%}
        {%- if column['data_type'] is defined and column['data_type'] -%}
            {%- set copy = dict(column) -%}
            {%- do copy.update({'data_type': smb_warehouse.contract_data_type(column['data_type'])}) -%}
            {%- do translated.update({name: copy}) -%}
        {%- else -%}
            {%- do translated.update({name: column}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(dbt.default__get_empty_schema_sql(translated)) }}
{% endmacro %}
