{#-
  contact_columns(phone, street, city, country, postal_code=none)

  How every organisation master (ERP customers, ERP suppliers, CRM accounts) normalises its contact data,
  written once: phone_raw (as exported), phone_e164 (E.164, the country's calling code where the number has
  none), street and city (trimmed, inner whitespace collapsed), postal_code (when the export has one;
  trimmed, upper case) and country_code (ISO 3166-1 alpha-2). Arguments are the raw column names.
-#}
{% macro contact_columns(phone, street, city, country, postal_code=none) -%}
    {{ phone }} as phone_raw,
    {{ smb_warehouse.normalize_phone_e164(phone, smb_warehouse.normalize_country_code(country)) }} as phone_e164,
    {{ smb_warehouse.clean_text(street) }} as street,
    {{ smb_warehouse.clean_text(city) }} as city,
    {%- if postal_code %}
    {{ smb_warehouse.clean_code(postal_code) }} as postal_code,
    {%- endif %}
    {{ smb_warehouse.normalize_country_code(country) }} as country_code
{%- endmacro %}
