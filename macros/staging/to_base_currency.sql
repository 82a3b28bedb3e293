{#-
  to_base_currency(amount, currency, date)

  `amount` in `currency` converted to var('base_currency') at the monthly rate of `date`'s month
  (seed fx_rates: currency, rate_month = first day of month, rate_to_base = base units per 1 unit),
  as DECIMAL(18,4). Base-currency amounts pass through unchanged; a missing rate gives NULL (the
  seed's tests and the staging not_null tests surface gaps).
  Portable SQL: an aggregated correlated scalar subquery with equality predicates in its WHERE, the form
  Spark 3.5 accepts too (it rejects outer references inside a joined derived table).
  The product is taken as DECIMAL(24,4) x DECIMAL(12,6): exact on every engine (Spark keeps all 37 digits only
  while p1 + p2 + 1 <= 38) and wide enough for any DECIMAL(18,4) amount; DECIMAL(18,4) x DECIMAL(18,6) overflowed
  DuckDB's 18-digit product for a bank balance of 93.7 million USD (the scale-500 run, issue 12).
-#}
{% macro to_base_currency(amount, currency, date) -%}
    cast(
        case
            when {{ amount }} is null then null
            when upper(trim({{ currency }})) = '{{ var("base_currency") }}' then {{ amount }}
            else cast({{ amount }} as decimal(24, 4)) * (
                {#- fx_rates' columns are renamed inside the subquery, so `currency` / `date` of the calling
                    model can never bind to the seed's own `currency` column. -#}
                select cast(max(fx.fx_rate_to_base) as decimal(12, 6))
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
