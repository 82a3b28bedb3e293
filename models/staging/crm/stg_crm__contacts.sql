with

source as (

    {{ latest_version(source('crm', 'contacts'), ['contact_id']) }}

),

accounts as (

    {{ latest_version(source('crm', 'accounts'), ['account_id'], updated_at='updated_at') }}

),

renamed as (

    select

        ----------  ids
        source.contact_id as crm_contact_id,
        source.account_id as crm_account_id,

        ----------  attributes
        {{ clean_text('source.first_name') }} as first_name,
        {{ clean_text('source.last_name') }} as last_name,
        {{ clean_text("coalesce(source.first_name, '') || ' ' || coalesce(source.last_name, '')") }} as full_name,
        {{ normalize_email('source.email') }} as email,
        source.phone as phone_raw,
        {{ normalize_phone_e164('source.phone', normalize_country_code('accounts.country')) }} as phone_e164,
        {{ clean_text('source.title') }} as title,

        ----------  timestamps (UTC)
        source.created_at,

        ----------  lineage
        source._load_id,
        source._source_file,
        source._source_line,
        source._loaded_at

    from source
    left join accounts
        on source.account_id = accounts.account_id

)

select * from renamed
