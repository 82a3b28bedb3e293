{#- Golden customer record (survivorship in int_core__customer_golden); personal data masked / hashed. -#}
select
    cast(golden.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast({{ public_party_name('golden.customer_name', legal_name('golden.customer_name')) }} as {{ dbt.type_string() }}) as legal_name,
    cast({{ legal_form('golden.customer_name') }} as {{ dbt.type_string() }}) as legal_form,
    cast({{ mask_email('golden.email') }} as {{ dbt.type_string() }}) as email_masked,
    cast({{ hash_pii('golden.email') }} as {{ dbt.type_string() }}) as email_sha256,
    cast({{ mask_phone('golden.phone_e164') }} as {{ dbt.type_string() }}) as phone_masked,
    cast(golden.country_code as {{ dbt.type_string() }}) as country_code,
    golden.n_erp_customers,
    golden.n_crm_accounts,
    golden.n_crm_contacts,
    golden.n_finance_debtors,
    golden.n_support_customers
from {{ ref('int_core__customer_golden') }} as golden
