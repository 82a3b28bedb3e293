{#-
  lineage_columns()

  The four lineage columns every staging model carries from its raw table unchanged, so every row traces
  back to the file and line it was loaded from: _load_id, _source_file, _source_line, _loaded_at.
  Meant as the last item of a staging model's select list.
-#}
{% macro lineage_columns() -%}
    _load_id,
    _source_file,
    _source_line,
    _loaded_at
{%- endmacro %}
