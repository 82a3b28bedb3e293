{#-
  Text normalisation used by every staging model (and the marts keying on the same text). All are plain
  expressions of their argument (a SQL expression string); regular expressions go through the
  macros/cross_db regexp_* macros and their pattern dialect.
-#}

{#- Trimmed, inner whitespace collapsed to one space; empty -> NULL. For names, addresses, titles. -#}
{% macro clean_text(expression) -%}
    nullif({{ smb_warehouse.regexp_replace_all('trim(' ~ expression ~ ')', '\s+', ' ') }}, '')
{%- endmacro %}

{#- Support product mention as entity resolution keys it: trimmed, inner whitespace collapsed, lower case. -#}
{% macro normalize_mention(expression) -%}
    lower({{ smb_warehouse.clean_text(expression) }})
{%- endmacro %}

{#- Trimmed upper-case code (currency, location, SKU); empty -> NULL. -#}
{% macro clean_code(expression) -%}
    nullif(upper(trim({{ expression }})), '')
{%- endmacro %}

{#- Lower-case e-mail without any whitespace (never valid inside an address); empty -> NULL. -#}
{% macro normalize_email(expression) -%}
    nullif(lower({{ smb_warehouse.regexp_replace_all(expression, '\s', '') }}), '')
{%- endmacro %}

{#- VAT id / IBAN style identifier: upper case, only letters and digits (no spaces, dots, dashes). -#}
{% macro normalize_vat_id(expression) -%}
    nullif({{ smb_warehouse.regexp_replace_all('upper(' ~ expression ~ ')', '[^A-Z0-9]', '') }}, '')
{%- endmacro %}

{% macro normalize_iban(expression) -%}
    {{ smb_warehouse.normalize_vat_id(expression) }}
{%- endmacro %}

{#- Bare host of a website URL: lower case, no scheme, no leading www., no path/port/query. -#}
{% macro normalize_domain(expression) -%}
    {%- set no_scheme = smb_warehouse.regexp_replace_all('lower(trim(' ~ expression ~ '))', '^[a-z][a-z0-9+.-]*://', '') -%}
    {%- set no_www = smb_warehouse.regexp_replace_all(no_scheme, '^www[.]', '') -%}
    nullif({{ smb_warehouse.regexp_replace_all(no_www, '[/?#:][^\\n]*$', '') }}, '')
{%- endmacro %}

{#-
  ISO 3166 alpha-2 country code from a code or a common English/native name (CRM addresses hold free
  text). Unknown values that are not two letters become NULL.
-#}
{% macro normalize_country_code(expression) -%}
    {%- set aliases = {
        'GERMANY': 'DE', 'DEUTSCHLAND': 'DE', 'FRANCE': 'FR', 'NETHERLANDS': 'NL', 'THE NETHERLANDS': 'NL',
        'NEDERLAND': 'NL', 'HOLLAND': 'NL', 'UNITED KINGDOM': 'GB', 'UK': 'GB', 'GREAT BRITAIN': 'GB',
        'ENGLAND': 'GB', 'UNITED STATES': 'US', 'UNITED STATES OF AMERICA': 'US', 'USA': 'US',
        'SPAIN': 'ES', 'ESPAÑA': 'ES', 'ESPANA': 'ES', 'ITALY': 'IT', 'ITALIA': 'IT', 'BELGIUM': 'BE',
        'BELGIQUE': 'BE', 'BELGIE': 'BE', 'AUSTRIA': 'AT', 'ÖSTERREICH': 'AT', 'OSTERREICH': 'AT',
        'SWITZERLAND': 'CH', 'SCHWEIZ': 'CH', 'SUISSE': 'CH', 'CANADA': 'CA', 'IRELAND': 'IE',
        'PORTUGAL': 'PT', 'POLAND': 'PL', 'POLSKA': 'PL', 'SWEDEN': 'SE', 'DENMARK': 'DK', 'NORWAY': 'NO',
        'LUXEMBOURG': 'LU', 'FINLAND': 'FI', 'CZECHIA': 'CZ', 'CZECH REPUBLIC': 'CZ', 'AUSTRALIA': 'AU'
    } -%}
    {%- set cleaned = 'upper(trim(' ~ expression ~ '))' -%}
    case {{ cleaned }}
        {%- for name, code in aliases.items() %}
        when '{{ name }}' then '{{ code }}'
        {%- endfor %}
        else case when {{ smb_warehouse.regexp_matches(cleaned, '^[A-Z]{2}$') }} then {{ cleaned }} end
    end
{%- endmacro %}
