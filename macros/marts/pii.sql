{#-
  Masking / pseudonymisation of personal data for public marts. Raw values stay in protected models.
    mask_email('a.schmidt@firm.de') -> 'a***@firm.de'   (first character of the local part + domain)
    mask_phone('+491701234567')     -> '+49*******567'  (first 3 and last 3 characters kept)
    mask_iban('DE89370400440532013000') -> 'DE89**************3000'
    mask_name('Jörg Krüger Elektro e.K.') -> 'J***'     (first character only)
    public_party_name(name[, shown]) -> `shown` (default: the name) when the name ends in a legal-person form
                                       (GmbH, AG, KG, Ltd, B.V., SA, ...): an organisation's name, not personal data;
                                       otherwise mask_name(name). A name with no recognised form, or a sole-trader
                                       form (e.K., EI, VOF, LLC), may be a natural person's ("Katrin Weber",
                                       "James Garcia Hauling LLC"): public marts show it masked.
    hash_pii(x)                     -> keyed pseudonym: HMAC-SHA-256 of the value under the installation's secret
                                       key (hmac_sha256_hex), 64 hex digits; a stable join key without the value
                                       that nobody without the key can recompute from a list of candidates
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
    {{ smb_warehouse.hmac_sha256_hex(expression) }}
{%- endmacro %}


{% macro legal_person_pattern() -%}
(?i)[,]?\s+(GmbH & Co\.? KG|GmbH|gGmbH|AG|SE|UG|KG|OHG|Ltd\.?|Limited|PLC|LLP|Inc\.?|Corp\.?|B\.V\.|BV|N\.V\.|NV|S\.A\.S\.|SAS|SARL|S\.A\.|SA|S\.L\.|SL|S\.r\.l\.|Srl|S\.p\.A\.|SpA|AB|A/S|ApS|Oy|sp\. z o\.o\.|s\.r\.o\.)$
{%- endmacro %}

{% macro mask_name(expression) -%}
    case when {{ expression }} is not null then substr({{ expression }}, 1, 1) || '***' end
{%- endmacro %}

{% macro public_party_name(name, shown=none) -%}
    case when {{ smb_warehouse.regexp_matches(name, smb_warehouse.legal_person_pattern()) }} then {{ shown or name }}
        else {{ smb_warehouse.mask_name(name) }} end
{%- endmacro %}
