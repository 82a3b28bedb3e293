{#- Calendar from var('dim_date_start') to var('dim_date_end'). -#}
with days as (

    {{ date_spine_days(var('dim_date_start', '2023-01-01'), var('dim_date_end', '2027-12-31')) }}

)

select
    cast(year(date_day) * 10000 + month(date_day) * 100 + day(date_day) as integer) as date_key,
    cast(date_day as date) as date_day,
    cast(year(date_day) as integer) as year_number,
    cast(quarter(date_day) as integer) as quarter_number,
    cast(month(date_day) as integer) as month_number,
    cast({{ month_start('date_day') }} as date) as month_start,
    cast({{ month_end('date_day') }} as date) as month_end,
    cast(isodow(date_day) as integer) as iso_day_of_week,
    cast(weekofyear(date_day) as integer) as iso_week,
    cast(isodow(date_day) in (6, 7) as boolean) as is_weekend
from days
