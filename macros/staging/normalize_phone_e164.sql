{#-
  normalize_phone_e164(phone, country)

  Free-format phone -> E.164 ('+' then 8..15 digits, first digit 1-9), or NULL when it cannot be
  normalised. `country` is an ISO alpha-2 expression used for national numbers (normalise it first).

    1. drop a trailing extension ('x 12', 'ext. 12', '#12'; up to 5 digits) and the '(0)' of '+49 (0)30 ...'
    2. keep only the digits; remember whether the number started with '+'
    3. '+<digits>'                               -> kept as is
       '00<digits>'                              -> '+<digits>'
       US/CA: 10 digits, or 11 digits with a 1   -> '+1<10 digits>'
       national number, country has a trunk
       prefix (seed national_prefix, e.g. '0')   -> '+<calling code><number without the prefix>'
       country without trunk prefix (IT, ES, ..) -> '+<calling code><number>'
       anything else (unknown country, no prefix where one is required) -> NULL
    4. result outside 7..15 digits after '+', or starting with '+0'  -> NULL

  Calling codes come from the seed country_calling_codes (country, calling_code, national_prefix).
  Portable SQL: an aggregated correlated scalar subquery over a FROM-less derived table, which DuckDB,
  PostgreSQL 15 and Spark 3.5 all accept.
-#}
{% macro normalize_phone_e164(phone, country) -%}
    {%- set without_extension = smb_warehouse.regexp_replace_all('lower(' ~ phone ~ ')', '[^0-9]*(ext|x|#)[^0-9]*[0-9]{1,5}[^0-9]*$', '') -%}
    {%- set without_trunk_hint = "replace(" ~ without_extension ~ ", '(0)', '')" -%}
    (
        {#- max() over the single candidate row: Spark requires correlated scalar subqueries to aggregate -#}
        select
            max(case
                when length(candidate) between 8 and 16 and substr(candidate, 2, 1) between '1' and '9'
                    then candidate
            end)
        from (
            select
                case
                    when phone_parts.digits = '' then null
                    when phone_parts.has_plus then '+' || phone_parts.digits
                    when phone_parts.digits like '00%' then '+' || substr(phone_parts.digits, 3)
                    when phone_parts.country_code in ('US', 'CA') and length(phone_parts.digits) = 10
                        then '+1' || phone_parts.digits
                    when phone_parts.country_code in ('US', 'CA') and length(phone_parts.digits) = 11
                        and phone_parts.digits like '1%'
                        then '+' || phone_parts.digits
                    when calling_codes.national_prefix is null
                        then '+' || calling_codes.calling_code || phone_parts.digits
                    when phone_parts.digits like calling_codes.national_prefix || '%'
                        then '+' || calling_codes.calling_code
                            || substr(phone_parts.digits, length(calling_codes.national_prefix) + 1)
                end as candidate
            {#- phone_parts has no FROM and comes first, so `phone`/`country` bind to the calling model's
                columns (never to the seed's own `country` column). #}
            from (
                select
                    {{ smb_warehouse.regexp_replace_all(without_trunk_hint, '[^0-9]', '') }} as digits,
                    coalesce(trim({{ phone }}) like '+%', false) as has_plus,
                    upper(trim({{ country }})) as country_code
            ) as phone_parts
            left join {{ ref('country_calling_codes') }} as calling_codes
                on calling_codes.country = phone_parts.country_code
        ) as phone_candidates
    )
{%- endmacro %}
