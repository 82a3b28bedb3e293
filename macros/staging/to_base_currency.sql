{#-
  to_base_currency(amount, currency, date)

  `amount` in `currency` converted to var('base_currency') at the monthly rate of `date`'s month
  (seed fx_rates: currency, rate_month = first day of month, rate_to_base = base units per 1 unit),
  as DECIMAL(18,4). Base-currency amounts pass through unchanged; a missing rate gives NULL (the
  seed's tests and the staging not_null tests surface gaps).
  Portable SQL: a correlated scalar subquery over a FROM-less derived table, which DuckDB, PostgreSQL 15
  and Spark 3.5 all accept.
-#}
{% macro to_base_currency(amount, currency, date) -%}
    cast(
        case
            when {{ amount }} is null then null
            when upper(trim({{ currency }})) = '{{ var("base_currency") }}' then {{ amount }}
            else {{ amount }} * (
                {#- The lookup derived table has no FROM, so `currency`/`date` bind to the calling model's
                    columns, never to fx_rates' own `currency` column. #}
                select max(fx.rate_to_base)
                from (
                    select
                        upper(trim({{ currency }})) as currency_code,
                        {{ smb_warehouse.month_start(date) }} as rate_month
                ) as lookup
                inner join {{ ref('fx_rates') }} as fx
                    on fx.currency = lookup.currency_code
                    and fx.rate_month = lookup.rate_month
            )
        end
        as decimal(18, 4)
    )
{%- endmacro %}
