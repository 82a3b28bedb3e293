{#-
  Masking / pseudonymisation of personal data for public marts. Raw values stay in protected models.
    mask_email('a.schmidt@firm.de') -> 'a***@firm.de'   (first character of the local part + domain)
    mask_phone('+491701234567')     -> '+49*******567'  (first 3 and last 3 characters kept)
    mask_iban('DE89370400440532013000') -> 'DE89**************3000'
    hash_pii(x)                     -> hex SHA-256 of the value (stable join key without the value)
-#}
{% macro mask_email(expression) -%}
    {%- set at = dbt.position("'@'", expression) -%}
    case when {{ expression }} is not null and {{ at }} > 1 then
        substr({{ expression }}, 1, 1) || '***' || substr({{ expression }}, {{ at }})
    end
{%- endmacro %}

{% macro mask_phone(expression) -%}
    case when length({{ expression }}) > 6 then
        substr({{ expression }}, 1, 3) || repeat('*', length({{ expression }}) - 6)
        || substr({{ expression }}, length({{ expression }}) - 2)
    end
{%- endmacro %}

{% macro mask_iban(expression) -%}
    case when length({{ expression }}) > 8 then
        substr({{ expression }}, 1, 4) || repeat('*', length({{ expression }}) - 8)
        || substr({{ expression }}, length({{ expression }}) - 3)
    end
{%- endmacro %}

{% macro hash_pii(expression) -%}
    {{ smb_warehouse.sha256_hex(expression) }}
{%- endmacro %}
