{#- Pipeline health per job and day: runs and their success rate, durations, dbt test outcomes and model build
    time, and freshness (hours from the job's last successful run to the latest run's start) against the SLA.
    Built in the run's last dbt step (after kpi_ml__workflow_health, the latest model of a run) so it sees the
    node results of every earlier dbt step of its own run. -#}
-- depends_on: {{ ref('kpi_ml__workflow_health') }}
with

runs as (select * from {{ source('ops', 'pipeline_runs') }}),
nodes as (select * from {{ source('ops', 'dbt_node_results') }}),

run_days as (

    select
        job_name,
        cast(started_at as date) as run_date,
        count(*) as runs,
        sum(case when status = 'SUCCESS' then 1 else 0 end) as runs_succeeded,
        sum(case when status in ('FAILURE', 'CANCELED') then 1 else 0 end) as runs_failed,
        avg(case when status = 'SUCCESS' then duration_seconds end) as avg_success_duration_seconds,
        max(duration_seconds) as max_duration_seconds
    from runs
    where started_at is not null
    group by job_name, cast(started_at as date)

),

node_days as (

    select
        coalesce(runs.job_name, 'unknown') as job_name,
        cast(nodes.completed_at as date) as run_date,
        sum(case when nodes.resource_type = 'test' then 1 else 0 end) as tests_run,
        sum(case when nodes.resource_type = 'test' and nodes.status in ('fail', 'error') then 1 else 0 end)
            as tests_failed,
        sum(case when nodes.resource_type = 'test' and nodes.status = 'warn' then 1 else 0 end) as tests_warned,
        sum(case when nodes.resource_type = 'model' then nodes.execution_seconds else 0 end) as model_build_seconds
    from nodes
    left join runs on nodes.run_id = runs.run_id
    where nodes.completed_at is not null
    group by coalesce(runs.job_name, 'unknown'), cast(nodes.completed_at as date)

),

freshness as (

    select
        job_name,
        max(case when status = 'SUCCESS' then ended_at end) as last_success_at,
        max(started_at) as latest_run_started_at
    from runs
    group by job_name

),

days as (

    select
        coalesce(run_days.job_name, node_days.job_name) as job_name,
        coalesce(run_days.run_date, node_days.run_date) as run_date,
        coalesce(run_days.runs, 0) as runs,
        coalesce(run_days.runs_succeeded, 0) as runs_succeeded,
        coalesce(run_days.runs_failed, 0) as runs_failed,
        run_days.avg_success_duration_seconds,
        run_days.max_duration_seconds,
        coalesce(node_days.tests_run, 0) as tests_run,
        coalesce(node_days.tests_failed, 0) as tests_failed,
        coalesce(node_days.tests_warned, 0) as tests_warned,
        coalesce(node_days.model_build_seconds, 0) as model_build_seconds
    from run_days
    full outer join node_days
        on run_days.job_name = node_days.job_name and run_days.run_date = node_days.run_date

)

select
    cast(days.job_name as {{ dbt.type_string() }}) as job_name,
    cast(days.run_date as date) as run_date,
    cast(days.runs as integer) as runs,
    cast(days.runs_succeeded as integer) as runs_succeeded,
    cast(days.runs_failed as integer) as runs_failed,
    cast(days.runs_succeeded * 1.0 / nullif(days.runs_succeeded + days.runs_failed, 0) as {{ type_double() }})
        as success_rate,
    cast(days.avg_success_duration_seconds as {{ type_double() }}) as avg_success_duration_seconds,
    cast(days.max_duration_seconds as {{ type_double() }}) as max_duration_seconds,
    cast(days.tests_run as integer) as tests_run,
    cast(days.tests_failed as integer) as tests_failed,
    cast(days.tests_warned as integer) as tests_warned,
    cast(days.tests_failed * 1.0 / nullif(days.tests_run, 0) as {{ type_double() }}) as test_failure_rate,
    cast(days.model_build_seconds as {{ type_double() }}) as model_build_seconds,
    cast(freshness.last_success_at as timestamp) as last_success_at,
    cast({{ hours_between('freshness.last_success_at', 'freshness.latest_run_started_at') }} as {{ type_double() }})
        as hours_since_last_success,
    cast({{ var('pipeline_freshness_sla_hours') }} as {{ type_double() }}) as freshness_sla_hours,
    cast(
        {{ hours_between('freshness.last_success_at', 'freshness.latest_run_started_at') }}
        <= {{ var('pipeline_freshness_sla_hours') }} as boolean
    ) as is_within_freshness_sla
from days
left join freshness on days.job_name = freshness.job_name
