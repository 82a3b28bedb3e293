{#-
  Every customer-like record of every system, one row each, with the same normalised matching
  columns. Organisations (ERP customers, CRM accounts, finance debtors) carry a company name; people
  (CRM contacts, support requesters) only reach their company through e-mail, phone or the CRM link.
-#}
with

erp_customers as (

    select
        'erp' as source_system,
        'customers' as source_entity,
        erp_customer_id as source_id,
        'organisation' as record_kind,
        customer_name as display_name,
        email,
        cast(null as {{ dbt.type_string() }}) as website_domain,
        phone_e164,
        vat_id,
        street,
        postal_code,
        city,
        country_code,
        cast(null as {{ dbt.type_string() }}) as parent_record_key
    from {{ ref('stg_erp__customers') }}

),

crm_accounts as (

    select
        'crm', 'accounts', crm_account_id, 'organisation', account_name,
        cast(null as {{ dbt.type_string() }}), website_domain, phone_e164, vat_id, street, postal_code, city, country_code,
        cast(null as {{ dbt.type_string() }})
    from {{ ref('stg_crm__accounts') }}

),

crm_contacts as (

    {#- The CRM itself links a contact to its account: that link is kept as parent_record_key. -#}
    select
        'crm', 'contacts', crm_contact_id, 'person', full_name,
        email, cast(null as {{ dbt.type_string() }}), phone_e164, cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        case when crm_account_id is not null then 'crm:accounts:' || crm_account_id end
    from {{ ref('stg_crm__contacts') }}

),

finance_debtors as (

    {#- Finance has no debtor master in the extracts: the latest invoice states the debtor's details. -#}
    select
        'finance', 'debtors', finance_debtor_id, 'organisation', debtor_name,
        debtor_email, cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), debtor_vat_id,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from (
        {{ latest_version(ref('stg_finance__ar_invoices'), ['finance_debtor_id'], updated_at='invoice_date') }}
    ) as latest_invoice
    where finance_debtor_id is not null

),

support_requesters as (

    {#- The support desk knows requesters only by e-mail: one record per normalised address. -#}
    select
        'support', 'requesters', customer_email, 'person', max(customer_name),
        customer_email, cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }})
    from {{ ref('stg_support__tickets') }}
    where customer_email is not null
    group by customer_email

),

unioned as (

    select * from erp_customers
    union all select * from crm_accounts
    union all select * from crm_contacts
    union all select * from finance_debtors
    union all select * from support_requesters

),

normalised as (

    select
        source_system || ':' || source_entity || ':' || source_id as record_key,
        source_system,
        source_entity,
        source_id,
        record_kind,
        display_name,
        case when record_kind = 'organisation' then {{ er_name_clean('display_name') }} end as name_clean,
        email,
        {{ er_email_domain('email') }} as email_domain,
        website_domain,
        phone_e164,
        vat_id,
        {{ er_street_clean('street') }} as street,
        {{ er_postal_clean('postal_code') }} as postal_code,
        nullif(trim(lower({{ er_strip_accents('city') }})), '') as city,
        country_code,
        parent_record_key
    from unioned

)

select
    record_key,
    source_system,
    source_entity,
    source_id,
    record_kind,
    display_name,
    name_clean,
    {{ er_name_core('name_clean') }} as name_core,
    email,
    email_domain,
    website_domain,
    coalesce({{ er_company_domain('website_domain') }}, {{ er_company_domain('email_domain') }}) as company_domain,
    phone_e164,
    vat_id,
    {{ er_vat_core('vat_id') }} as vat_core,
    street,
    postal_code,
    city,
    country_code,
    parent_record_key
from normalised
