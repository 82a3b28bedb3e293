with

source as (

    {{ latest_version(source('erp', 'customers'), ['customer_id'], updated_at='updated_at') }}

),

renamed as (

    select

        ----------  ids
        customer_id as erp_customer_id,

        ----------  attributes
        {{ clean_text('customer_name') }} as customer_name,
        {{ normalize_email('email') }} as email,
        phone as phone_raw,
        {{ normalize_phone_e164('phone', normalize_country_code('country')) }} as phone_e164,
        {{ clean_text('street') }} as street,
        {{ clean_text('city') }} as city,
        {{ clean_code('postal_code') }} as postal_code,
        {{ normalize_country_code('country') }} as country_code,
        {{ normalize_vat_id('vat_id') }} as vat_id,

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
