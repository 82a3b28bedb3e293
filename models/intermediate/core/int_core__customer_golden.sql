{#-
  Survivorship: one golden record per unified customer.

  Rule (per attribute, independently): take the non-null value from the most trusted source, ties broken
  by the most recently updated record, then the smallest source id (deterministic).
    name    : erp/customers (billing master) > finance/debtors > crm/accounts
    email   : erp/customers > finance/debtors > crm/contacts > support/requesters
    phone   : erp/customers > crm/accounts > crm/contacts
    country : erp/customers > crm/accounts
  Counts: number of distinct source records per system/entity (CRM contacts counted separately).
-#}
with

records as (

    select * from {{ ref('int_core__customer_source_records') }}

),

candidates as (

    select customer_id, 'name' as attribute, name as value, source_id, record_updated_at,
        case (source_system || '/' || source_entity)
            when 'erp/customers' then 1 when 'finance/debtors' then 2 when 'crm/accounts' then 3 end as source_rank
    from records where name is not null
    union all
    select customer_id, 'email', email, source_id, record_updated_at,
        case (source_system || '/' || source_entity)
            when 'erp/customers' then 1 when 'finance/debtors' then 2 when 'crm/contacts' then 3
            when 'support/requesters' then 4 when 'support/customers' then 4 end
    from records where email is not null
    union all
    select customer_id, 'phone', phone, source_id, record_updated_at,
        case (source_system || '/' || source_entity)
            when 'erp/customers' then 1 when 'crm/accounts' then 2 when 'crm/contacts' then 3 end
    from records where phone is not null
    union all
    select customer_id, 'country', country_code, source_id, record_updated_at,
        case (source_system || '/' || source_entity)
            when 'erp/customers' then 1 when 'crm/accounts' then 2 end
    from records where country_code is not null

),

ranked as (

    select
        customer_id,
        attribute,
        value,
        row_number() over (
            partition by customer_id, attribute
            order by source_rank, record_updated_at desc nulls last, source_id
        ) as survivor_rank
    from candidates
    where source_rank is not null

),

survivors as (

    select
        customer_id,
        max(case when attribute = 'name' then value end) as customer_name,
        max(case when attribute = 'email' then value end) as email,
        max(case when attribute = 'phone' then value end) as phone_e164,
        max(case when attribute = 'country' then value end) as country_code
    from ranked
    where survivor_rank = 1
    group by customer_id

),

counts as (

    select
        customer_id,
        cast(count(distinct case when source_system = 'erp' then source_id end) as integer) as n_erp_customers,
        cast(count(distinct case when source_entity = 'accounts' then source_id end) as integer) as n_crm_accounts,
        cast(count(distinct case when source_entity = 'contacts' then source_id end) as integer) as n_crm_contacts,
        cast(count(distinct case when source_system = 'finance' then source_id end) as integer) as n_finance_debtors,
        cast(count(distinct case when source_system = 'support' then source_id end) as integer) as n_support_customers
    from records
    group by customer_id

)

select
    counts.customer_id,
    survivors.customer_name,
    survivors.email,
    survivors.phone_e164,
    survivors.country_code,
    counts.n_erp_customers,
    counts.n_crm_accounts,
    counts.n_crm_contacts,
    counts.n_finance_debtors,
    counts.n_support_customers
from counts
left join survivors
    on survivors.customer_id = counts.customer_id
