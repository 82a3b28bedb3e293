{#-
  Every switch of an AI workflow's circuit breaker (smb_warehouse/core/safe_mode.py), with how long the
  state it started lasted: next_changed_at is the workflow's next switch (NULL while still in force).
-#}
with

changes as (select * from {{ source('safe_mode', 'workflow_safe_mode_log') }}),

sequenced as (
    select
        changes.*,
        lead(changed_at) over (partition by workflow order by seq) as next_changed_at
    from changes
)

select
    cast(change_id as {{ dbt.type_string() }}) as change_id,
    cast(seq as bigint) as seq,
    cast(workflow as {{ dbt.type_string() }}) as workflow,
    cast(state as {{ dbt.type_string() }}) as state,
    cast(mode as {{ dbt.type_string() }}) as mode,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(changed_by as {{ dbt.type_string() }}) as changed_by,
    cast(changed_by_kind as {{ dbt.type_string() }}) as changed_by_kind,
    cast(changed_at as timestamp) as changed_at,
    cast(dagster_run_id as {{ dbt.type_string() }}) as dagster_run_id,
    cast(next_changed_at as timestamp) as next_changed_at,
    cast(next_changed_at is null as boolean) as is_current,
    cast(case when next_changed_at is not null then {{ hours_between('changed_at', 'next_changed_at') }} end
        as {{ type_double() }}) as hours_in_state
from sequenced
