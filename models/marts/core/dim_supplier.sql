{#-
  Golden supplier record. Survivorship: ERP supplier master first (most recently updated ERP record),
  else the vendor name/VAT id on the most recent AP invoice. Contact data masked.
-#}
with

bridge as (

    select * from {{ ref('bdg_supplier_source_ids') }}

),

candidates as (

    select
        bridge.supplier_id, 1 as source_rank, s.updated_at as record_updated_at, s.erp_supplier_id as source_id,
        s.supplier_name, s.vat_id, s.email, s.phone_e164, s.country_code,
        s.payment_terms_days, s.lead_time_days
    from {{ ref('stg_erp__suppliers') }} as s
    inner join bridge
        on bridge.source_system = 'erp' and bridge.source_id = s.erp_supplier_id
    union all
    select
        bridge.supplier_id, 2, cast(i.invoice_date as timestamp), i.finance_vendor_id,
        i.vendor_name, i.vendor_vat_id, null, null, null, null, null
    from {{ ref('stg_finance__ap_invoices') }} as i
    inner join bridge
        on bridge.source_system = 'finance' and bridge.source_id = i.finance_vendor_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by supplier_id order by source_rank, record_updated_at desc nulls last, source_id
        ) as survivor_rank
    from candidates

),

counts as (

    select
        supplier_id,
        cast(count(distinct case when source_system = 'erp' then source_id end) as integer) as n_erp_suppliers,
        cast(count(distinct case when source_system = 'finance' then source_id end) as integer) as n_finance_vendors
    from bridge
    group by supplier_id

)

select
    cast(counts.supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast({{ public_party_name('ranked.supplier_name') }} as {{ dbt.type_string() }}) as supplier_name,
    cast(ranked.vat_id as {{ dbt.type_string() }}) as vat_id,
    cast({{ mask_email('ranked.email') }} as {{ dbt.type_string() }}) as email_masked,
    cast({{ mask_phone('ranked.phone_e164') }} as {{ dbt.type_string() }}) as phone_masked,
    cast(ranked.country_code as {{ dbt.type_string() }}) as country_code,
    cast(ranked.payment_terms_days as integer) as payment_terms_days,
    cast(ranked.lead_time_days as integer) as lead_time_days,
    counts.n_erp_suppliers,
    counts.n_finance_vendors
from counts
left join ranked
    on ranked.supplier_id = counts.supplier_id and ranked.survivor_rank = 1
