{#-
  One row per AI workflow: its circuit breaker now (smb_warehouse/core/safe_mode.py) and what served its
  output in its latest run. health_status: safe_mode (breaker open), fallback (the latest run served a
  fallback: a refused candidate kept the champion, a baseline served, or rules only), ok.
-#}
with

changes as (
    select
        workflow, state, mode, reason, changed_by, changed_by_kind, changed_at,
        row_number() over (partition by workflow order by seq desc) as recency
    from {{ source('safe_mode', 'workflow_safe_mode_log') }}
),

opened as (
    select workflow, sum(case when state = 'open' then 1 else 0 end) as times_opened
    from {{ source('safe_mode', 'workflow_safe_mode_log') }}
    group by workflow
),

runs as (
    select
        workflow, dagster_run_id, recorded_at, serving, degraded, gate_passed, detail,
        row_number() over (partition by workflow order by recorded_at desc, dagster_run_id desc) as recency
    from {{ source('safe_mode', 'workflow_run_outcomes') }}
),

workflows as (
    select workflow from changes
    union
    select workflow from runs
),

joined as (
    select
        workflows.workflow,
        coalesce(current_change.state, 'closed') as breaker_state,
        coalesce(current_change.mode, 'normal') as mode,
        current_change.reason as breaker_reason,
        current_change.changed_by as breaker_changed_by,
        current_change.changed_by_kind as breaker_changed_by_kind,
        current_change.changed_at as breaker_changed_at,
        coalesce(opened.times_opened, 0) as times_opened,
        last_run.dagster_run_id as last_run_id,
        last_run.recorded_at as last_run_at,
        last_run.serving as last_serving,
        last_run.degraded as last_run_degraded,
        last_run.gate_passed as last_gate_passed,
        last_run.detail as last_run_detail
    from workflows
    left join changes as current_change on current_change.workflow = workflows.workflow and current_change.recency = 1
    left join opened on opened.workflow = workflows.workflow
    left join runs as last_run on last_run.workflow = workflows.workflow and last_run.recency = 1
)

select
    cast(workflow as {{ dbt.type_string() }}) as workflow,
    cast(breaker_state as {{ dbt.type_string() }}) as breaker_state,
    cast(mode as {{ dbt.type_string() }}) as mode,
    cast(breaker_reason as {{ dbt.type_string() }}) as breaker_reason,
    cast(breaker_changed_by as {{ dbt.type_string() }}) as breaker_changed_by,
    cast(breaker_changed_by_kind as {{ dbt.type_string() }}) as breaker_changed_by_kind,
    cast(breaker_changed_at as timestamp) as breaker_changed_at,
    cast(times_opened as bigint) as times_opened,
    cast(last_run_id as {{ dbt.type_string() }}) as last_run_id,
    cast(last_run_at as timestamp) as last_run_at,
    cast(last_serving as {{ dbt.type_string() }}) as last_serving,
    cast(last_run_degraded as boolean) as last_run_degraded,
    cast(last_gate_passed as boolean) as last_gate_passed,
    cast(last_run_detail as {{ dbt.type_string() }}) as last_run_detail,
    cast(
        case
            when breaker_state = 'open' then 'safe_mode'
            when last_run_degraded then 'fallback'
            else 'ok'
        end as {{ dbt.type_string() }}
    ) as health_status
from joined
