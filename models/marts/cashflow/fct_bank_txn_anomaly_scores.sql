{#-
  Anomaly score of every scored bank statement line (written by the Dagster asset cashflow/bank_txn_scores),
  with the line's date, direction and amount from the fact table. Counterparties appear only hashed.
-#}
select
    cast(scores.finance_bank_txn_id as {{ dbt.type_string() }}) as finance_bank_txn_id,
    cast(fct.account_iban_masked as {{ dbt.type_string() }}) as account_iban_masked,
    cast(features.counterparty_key as {{ dbt.type_string() }}) as counterparty_key_sha256,
    cast(fct.booking_date as date) as booking_date,
    cast(fct.direction as {{ dbt.type_string() }}) as direction,
    cast(fct.amount_base as decimal(18, 4)) as amount_base,
    cast(scores.anomaly_score as {{ type_double() }}) as anomaly_score,
    cast(scores.amount_robust_z as {{ type_double() }}) as amount_robust_z,
    cast(scores.isolation_score as {{ type_double() }}) as isolation_score,
    cast(scores.is_unusual_amount as boolean) as is_unusual_amount,
    cast(scores.is_new_counterparty as boolean) as is_new_counterparty,
    cast(scores.is_odd_timing as boolean) as is_odd_timing,
    cast(scores.is_duplicate_candidate as boolean) as is_duplicate_candidate,
    cast(scores.is_without_payment_record as boolean) as is_without_payment_record,
    cast(features.duplicate_of_txn_id as {{ dbt.type_string() }}) as duplicate_of_txn_id,
    cast(scores.anomaly_reason as {{ dbt.type_string() }}) as anomaly_reason,
    cast(scores.anomaly_score >= {{ cashflow_anomaly_threshold() }} as boolean) as is_flagged,
    cast(scores.model_version as {{ dbt.type_string() }}) as model_version,
    cast(scores.scored_at as timestamp) as scored_at
from {{ source('cashflow', 'bank_txn_scores') }} as scores
inner join {{ ref('fct_bank_transactions') }} as fct on fct.finance_bank_txn_id = scores.finance_bank_txn_id
inner join {{ ref('int_cashflow__bank_txn_features') }} as features
    on features.finance_bank_txn_id = scores.finance_bank_txn_id
