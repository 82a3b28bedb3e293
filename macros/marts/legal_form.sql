{#-
  Company name without / with its legal-form suffix:
    legal_name('Keller Bau GmbH & Co. KG') -> 'Keller Bau'    legal_form(...) -> 'GmbH & Co. KG'
  The suffix must end the name and follow whitespace (or ', '); names without one keep their full text
  as legal_name and get a NULL legal_form.
-#}
{% macro legal_form_pattern() -%}
[,]?\s+(GmbH & Co\.? KG|GmbH|gGmbH|AG|KG|OHG|UG|e\.K\.|SE|Ltd\.?|Limited|PLC|plc|LLP|Inc\.?|LLC|Corp\.?|B\.V\.|BV|N\.V\.|NV|S\.A\.S\.|SAS|SARL|S\.A\.|SA|S\.L\.|SL|S\.r\.l\.|Srl|S\.p\.A\.|SpA|AB|A/S|ApS|Oy|sp\. z o\.o\.|s\.r\.o\.)$
{%- endmacro %}

{% macro legal_form(name) -%}
    {{ smb_warehouse.regexp_extract_group(name, legal_form_pattern()) }}
{%- endmacro %}

{% macro legal_name(name) -%}
    trim({{ smb_warehouse.regexp_replace_all(name, legal_form_pattern(), '') }})
{%- endmacro %}
