{#-
  Custom schemas are used as-is: a model configured with `schema: staging` lands in `staging`,
  not `<target_schema>_staging`. Nodes without a custom schema use the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
