{#-
  Calendar over the data's actual range: every day from int_core__data_date_range.calendar_start to
  calendar_end (the months of the first and last business event in any source, plus
  var('calendar_days_ahead') days for forecasts and projections). No fixed window: data from 2016 or 2031
  gets its calendar, and models joining it (demand features, cash positions) keep every day.
-#}
with

bounds as (
    select calendar_start, calendar_end
    from {{ ref('int_core__data_date_range') }}
    where calendar_start is not null and calendar_end is not null
),

days as (

    {{ date_spine_between('bounds', 'calendar_start', 'calendar_end') }}

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
