{#-
  Every customer source record with its unified customer id and the attributes survivorship chooses
  from. CRM contacts are not resolved on their own: they inherit their account's unified id.
  Holds raw personal data: protected, never exposed to BI.
-#}
with

bridge as (

    select * from {{ ref('bdg_customer_source_ids') }}

),

erp as (

    select
        bridge.customer_id, 'erp' as source_system, 'customers' as source_entity, c.erp_customer_id as source_id,
        c.customer_name as name, c.email, c.phone_e164 as phone, c.country_code,
        c.updated_at as record_updated_at
    from {{ ref('stg_erp__customers') }} as c
    inner join bridge
        on bridge.source_system = 'erp' and bridge.source_entity = 'customers'
        and bridge.source_id = c.erp_customer_id

),

crm_accounts as (

    select
        bridge.customer_id, 'crm', 'accounts', a.crm_account_id,
        a.account_name, cast(null as {{ dbt.type_string() }}), a.phone_e164, a.country_code, a.updated_at
    from {{ ref('stg_crm__accounts') }} as a
    inner join bridge
        on bridge.source_system = 'crm' and bridge.source_entity = 'accounts'
        and bridge.source_id = a.crm_account_id

),

crm_contacts as (

    select
        bridge.customer_id, 'crm', 'contacts', c.crm_contact_id,
        cast(null as {{ dbt.type_string() }}), c.email, c.phone_e164, cast(null as {{ dbt.type_string() }}), c.created_at
    from {{ ref('stg_crm__contacts') }} as c
    inner join bridge
        on bridge.source_system = 'crm' and bridge.source_entity = 'contacts'
        and bridge.source_id = c.crm_contact_id

),

debtors as (

    select
        bridge.customer_id, 'finance', 'debtors', i.finance_debtor_id,
        i.debtor_name, i.debtor_email, cast(null as {{ dbt.type_string() }}), cast(null as {{ dbt.type_string() }}),
        cast(i.invoice_date as timestamp)
    from {{ ref('stg_finance__ar_invoices') }} as i
    inner join bridge
        on bridge.source_system = 'finance' and bridge.source_entity = 'debtors'
        and bridge.source_id = i.finance_debtor_id

),

support as (

    select
        bridge.customer_id, 'support', bridge.source_entity, t.customer_email,
        cast(null as {{ dbt.type_string() }}), t.customer_email, cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_string() }}), t.created_at
    from {{ ref('stg_support__tickets') }} as t
    inner join bridge
        on bridge.source_system = 'support'
        and bridge.source_id = t.customer_email

),

unioned as (

    select * from erp
    union all select * from crm_accounts
    union all select * from crm_contacts
    union all select * from debtors
    union all select * from support

)

select
    customer_id,
    source_system,
    source_entity,
    source_id,
    name,
    email,
    phone,
    country_code,
    record_updated_at
from unioned
