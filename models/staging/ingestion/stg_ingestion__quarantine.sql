with

source as (

    select * from {{ source('ingestion', 'quarantine') }}

),

renamed as (

    select

        ----------  ids
        load_id,
        system as source_system,
        entity as source_entity,
        system || '__' || entity as raw_table,
        source_file,
        source_line,

        ----------  rejection
        column_name,
        reason,
        cast(raw_record as {{ dbt.type_string() }}) as raw_record,

        ----------  timestamps (UTC)
        quarantined_at

    from source

)

select * from renamed
