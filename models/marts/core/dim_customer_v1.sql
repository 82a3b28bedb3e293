{#- Deprecated: v1 carried the full name in one column. Use dim_customer v2 (legal_name + legal_form). -#}
select
    cast(golden.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast({{ public_party_name('golden.customer_name') }} as {{ dbt.type_string() }}) as customer_name,
    cast({{ mask_email('golden.email') }} as {{ dbt.type_string() }}) as email_masked,
    cast({{ mask_phone('golden.phone_e164') }} as {{ dbt.type_string() }}) as phone_masked,
    cast(golden.country_code as {{ dbt.type_string() }}) as country_code,
    golden.n_erp_customers,
    golden.n_crm_accounts,
    golden.n_crm_contacts,
    golden.n_finance_debtors,
    golden.n_support_customers
from {{ ref('int_core__customer_golden') }} as golden
