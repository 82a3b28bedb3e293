with

source as (

    select * from {{ source('ingestion', 'load_audit') }}

),

renamed as (

    select

        ----------  ids
        load_id,
        system as source_system,
        entity as source_entity,
        system || '__' || entity as raw_table,
        source_file,
        content_sha256,

        ----------  outcome
        lower(status) as load_status,
        cast(schema_drift as {{ dbt.type_string() }}) as schema_drift,
        message,

        ----------  counts
        file_bytes,
        rows_read,
        rows_loaded,
        rows_quarantined,

        ----------  timestamps (UTC)
        started_at,
        finished_at

    from source

)

select * from renamed
