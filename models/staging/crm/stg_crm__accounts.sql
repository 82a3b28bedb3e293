with

source as (

    {{ latest_version(source('crm', 'accounts'), ['account_id'], updated_at='updated_at') }}

),

renamed as (

    select

        ----------  ids
        account_id as crm_account_id,

        ----------  attributes
        {{ clean_text('account_name') }} as account_name,
        nullif(trim(website), '') as website,
        {{ normalize_domain('website') }} as website_domain,
        phone as phone_raw,
        {{ normalize_phone_e164('phone', normalize_country_code('country')) }} as phone_e164,
        {{ clean_text('street') }} as street,
        {{ clean_text('city') }} as city,
        {{ clean_code('postal_code') }} as postal_code,
        {{ normalize_country_code('country') }} as country_code,
        {{ normalize_vat_id('vat_number') }} as vat_id,
        {{ clean_text('industry') }} as industry,

        ----------  timestamps (UTC)
        created_at,
        updated_at,

        ----------  lineage
        _load_id,
        _source_file,
        _source_line,
        _loaded_at

    from source

)

select * from renamed
