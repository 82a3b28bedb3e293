{#-
  to_base_currency(amount, currency, date)

  `amount` in `currency` converted to var('base_currency') at the monthly rate of `date`'s month
  (seed fx_rates: currency, rate_month = first day of month, rate_to_base = base units per 1 unit),
  as DECIMAL(18,4). Base-currency amounts pass through unchanged; a missing rate gives NULL (the
  seed's tests and the staging not_null tests surface gaps).
  Portable SQL: an aggregated correlated scalar subquery with equality predicates in its WHERE, the form
  Spark 3.5 accepts too (it rejects outer references inside a joined derived table).
-#}
{% macro to_base_currency(amount, currency, date) -%}
    cast(
        case
            when {{ amount }} is null then null
            when upper(trim({{ currency }})) = '{{ var("base_currency") }}' then {{ amount }}
            else {{ amount }} * (
                {#- fx_rates' columns are renamed inside the subquery, so `currency` / `date` of the calling
                    model can never bind to the seed's own `currency` column. -#}
                select max(fx.fx_rate_to_base)
                from (
                    select currency as fx_currency, rate_month as fx_rate_month, rate_to_base as fx_rate_to_base
                    from {{ ref('fx_rates') }}
                ) as fx
                where fx.fx_currency = upper(trim({{ currency }}))
                    and fx.fx_rate_month = {{ smb_warehouse.month_start(date) }}
            )
        end
        as decimal(18, 4)
    )
{%- endmacro %}
