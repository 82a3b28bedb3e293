{#- Calendar from var('dim_date_start') to var('dim_date_end'). -#}
with days as (

    {{ date_spine_days(var('dim_date_start', '2023-01-01'), var('dim_date_end', '2027-12-31')) }}

)

select
    cast(
        {{ date_part_number('year', 'date_day') }} * 10000
        + {{ date_part_number('month', 'date_day') }} * 100
        + {{ date_part_number('day', 'date_day') }}
        as integer
    ) as date_key,
    cast(date_day as date) as date_day,
    {{ date_part_number('year', 'date_day') }} as year_number,
    {{ date_part_number('quarter', 'date_day') }} as quarter_number,
    {{ date_part_number('month', 'date_day') }} as month_number,
    cast({{ month_start('date_day') }} as date) as month_start,
    cast({{ month_end('date_day') }} as date) as month_end,
    {{ date_part_number('isodow', 'date_day') }} as iso_day_of_week,
    {{ date_part_number('isoweek', 'date_day') }} as iso_week,
    cast({{ date_part_number('isodow', 'date_day') }} in (6, 7) as boolean) as is_weekend
from days
