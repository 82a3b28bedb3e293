with

source as (

    {{ latest_version(source('erp', 'suppliers'), ['supplier_id'], updated_at='updated_at') }}

),

renamed as (

    select

        ----------  ids
        supplier_id as erp_supplier_id,

        ----------  attributes
        {{ clean_text('supplier_name') }} as supplier_name,
        {{ normalize_vat_id('vat_id') }} as vat_id,
        {{ normalize_email('email') }} as email,
        phone as phone_raw,
        {{ normalize_phone_e164('phone', normalize_country_code('country')) }} as phone_e164,
        {{ clean_text('street') }} as street,
        {{ clean_text('city') }} as city,
        {{ normalize_country_code('country') }} as country_code,

        ----------  terms
        payment_terms_days,
        lead_time_days,

        ----------  timestamps (UTC)
        updated_at,

        ----------  lineage
        _load_id,
        _source_file,
        _source_line,
        _loaded_at

    from source

)

select * from renamed
