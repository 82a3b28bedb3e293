{#-
  One outcome per AP invoice from the three-way match, in this order of precedence:
    1. a human review decision (latest per invoice): matched_by_review (approve/reassign) or rejected_by_review
    2. duplicate_invoice exception (same payee + vendor invoice number as an earlier invoice)
    3. auto_matched by rule (quoted PO, same supplier, quantities and amounts within tolerance)
    4. price_variance exception: quoted PO of the same supplier, quantities agree, amount outside tolerance
    5. auto_matched by the scorer: best PO scores >= var('recon_auto_match_threshold'), leads the runner-up by
       var('recon_min_score_margin'), and still passes the quantity and amount tolerances (a model never approves
       an amount the receipts do not support)
    6. otherwise an exception whose reason says what is missing:
       quantity_variance / price_variance (a plausible PO whose receipts disagree), no_po_reference (nothing
       quoted, no plausible PO), po_not_found (quoted PO does not exist), low_confidence (anything else).
  machine_outcome / machine_po_number: what steps 2-6 (rules and scorer) decided, before any human decision and
  whatever the mode; the live KPI of the AP circuit breaker compares them with later review decisions.
  Safe mode (reconciliation.scoring_state.mode <> 'normal': the AP circuit breaker is open): no auto-match at
  all; an invoice the machine would have auto-matched becomes a safe_mode exception with that PO suggested.
  Every row carries what served the run's scores (serving, is_fallback: the candidate scorer was refused by its
  gate, so the champion or the rule-only baseline scored) and the run's mode. Exceptions without a decision form
  the review queue (fct_ap_review_queue).
-#}
{%- set auto = var('recon_auto_match_threshold') -%}
{%- set margin = var('recon_min_score_margin') -%}
{%- set plausible = var('recon_review_threshold') -%}
with

invoices as (select * from {{ ref('fct_ap_invoices') }}),
signals as (select * from {{ ref('int_ap_recon__invoices') }}),
candidates as (select * from {{ ref('int_ap_recon__candidates') }}),
scores as (select * from {{ source('reconciliation', 'candidate_scores') }}),
-- one row (the run that scored); none after a plain `dbt build` without the Python asset: normal mode
run_state as (select serving, is_fallback, mode from {{ source('reconciliation', 'scoring_state') }}),

rule_match as (
    select invoice_id, po_number
    from (
        select
            invoice_id,
            po_number,
            row_number() over (partition by invoice_id order by abs(amount_ratio - 1) nulls last, po_number) as rule_rank
        from candidates
        where is_rule_match
    ) as ranked_rule_matches
    where rule_rank = 1
),

price_variance as (
    select invoice_id, po_number
    from candidates
    where ref_exact and same_supplier and quantity_within_tolerance and not amount_within_tolerance
),

ranked as (
    select
        candidates.*,
        coalesce(scores.match_score, 0) as match_score,
        scores.model_version,
        row_number() over (partition by candidates.invoice_id order by coalesce(scores.match_score, 0) desc,
                           candidates.po_number) as score_rank
    from candidates
    left join scores on scores.invoice_id = candidates.invoice_id and scores.po_number = candidates.po_number
),

best as (
    select
        top.*,
        top.match_score - coalesce(runner_up.match_score, 0) as score_margin
    from ranked as top
    left join ranked as runner_up on runner_up.invoice_id = top.invoice_id and runner_up.score_rank = 2
    where top.score_rank = 1
),

latest_decision as (
    select *
    from (
        select
            decisions.*,
            row_number() over (
                partition by decisions.invoice_id
                order by decisions.decided_at desc nulls last, decisions.decision_id desc nulls last
            ) as decision_rank
        from {{ source('reconciliation', 'review_decisions') }} as decisions
    ) as ranked_decisions
    where decision_rank = 1
),

machine as (

    select
        invoices.finance_ap_invoice_id as invoice_id,
        invoices.supplier_id,
        invoices.po_reference,
        invoices.invoice_date,
        invoices.received_date,
        invoices.last_payment_date,
        invoices.currency_code,
        invoices.net_amount_base,
        invoices.total_amount_base,
        invoices.paid_amount_base,
        signals.duplicate_of_invoice_id,
        best.po_number as best_po_number,
        best.match_score as best_score,
        best.score_margin,
        best.model_version,
        rule_match.po_number as rule_po_number,
        latest_decision.decision_id,
        latest_decision.action as decision_action,
        latest_decision.po_number as decision_po_number,
        latest_decision.decided_by,
        latest_decision.decided_at,
        latest_decision.reason as decision_reason,
        case
            when signals.duplicate_of_invoice_id is not null then 'exception'
            when rule_match.po_number is not null then 'auto_matched'
            when price_variance.po_number is not null then 'exception'
            when best.match_score >= {{ auto }} and best.score_margin >= {{ margin }}
                and best.quantity_within_tolerance and best.amount_within_tolerance and best.same_currency
                then 'auto_matched'
            else 'exception'
        end as machine_outcome,
        case
            when signals.duplicate_of_invoice_id is not null then 'rule:duplicate_invoice'
            when rule_match.po_number is not null then 'rule:three_way_match'
            when price_variance.po_number is not null then 'rule:price_variance'
            else 'model:invoice_match_scorer'
        end as machine_method,
        case
            when signals.duplicate_of_invoice_id is not null then 'duplicate_invoice'
            when rule_match.po_number is not null then null
            when price_variance.po_number is not null then 'price_variance'
            when best.match_score >= {{ auto }} and best.score_margin >= {{ margin }}
                and best.quantity_within_tolerance and best.amount_within_tolerance and best.same_currency then null
            when best.match_score >= {{ plausible }} and not best.quantity_within_tolerance then 'quantity_variance'
            when best.match_score >= {{ plausible }} and not best.amount_within_tolerance then 'price_variance'
            when invoices.po_reference is null or not signals.ref_is_po_format then 'no_po_reference'
            when not signals.ref_is_known_po then 'po_not_found'
            else 'low_confidence'
        end as machine_reason,
        coalesce(price_variance.po_number, rule_match.po_number) as rule_candidate_po,
        coalesce(run_state.serving, 'none') as serving,
        coalesce(run_state.is_fallback, false) as is_fallback,
        coalesce(run_state.mode, 'normal') as run_mode
    from invoices
    inner join signals on signals.invoice_id = invoices.finance_ap_invoice_id
    left join best on best.invoice_id = invoices.finance_ap_invoice_id
    left join rule_match on rule_match.invoice_id = invoices.finance_ap_invoice_id
    left join (select invoice_id, min(po_number) as po_number from price_variance group by invoice_id)
        as price_variance on price_variance.invoice_id = invoices.finance_ap_invoice_id
    left join latest_decision on latest_decision.invoice_id = invoices.finance_ap_invoice_id
    left join run_state on 1 = 1

),

decided as (

    select
        machine.*,
        case when machine_outcome = 'auto_matched' then coalesce(rule_po_number, best_po_number) end as machine_po_number,
        case
            when decision_action in ('approve', 'reassign') then 'matched_by_review'
            when decision_action = 'reject' then 'rejected_by_review'
            when machine_outcome = 'auto_matched' and run_mode <> 'normal' then 'exception'
            else machine_outcome
        end as outcome,
        case
            when decision_id is not null then 'review:' || decision_action
            when machine_outcome = 'auto_matched' and run_mode <> 'normal' then 'safe_mode:' || run_mode
            else machine_method
        end as decided_by_method,
        case
            when decision_id is not null then null
            when machine_outcome = 'auto_matched' and run_mode <> 'normal' then 'safe_mode'
            else machine_reason
        end as exception_reason
    from machine

)

select
    cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(supplier_id as {{ dbt.type_string() }}) as supplier_id,
    cast(outcome as {{ dbt.type_string() }}) as outcome,
    cast(decided_by_method as {{ dbt.type_string() }}) as match_method,
    cast(exception_reason as {{ dbt.type_string() }}) as exception_reason,
    cast(case
        when outcome = 'matched_by_review' then decision_po_number
        when outcome = 'auto_matched' then coalesce(rule_po_number, best_po_number)
    end as {{ dbt.type_string() }}) as matched_po_number,
    -- what a reviewer should look at first: the rule's PO, else the scorer's best guess
    cast(case when outcome = 'exception' then coalesce(machine_po_number, rule_candidate_po, best_po_number) end
        as {{ dbt.type_string() }}) as suggested_po_number,
    cast(best_score as {{ type_double() }}) as best_match_score,
    cast(score_margin as {{ type_double() }}) as score_margin,
    cast(model_version as {{ dbt.type_string() }}) as model_version,
    cast(duplicate_of_invoice_id as {{ dbt.type_string() }}) as duplicate_of_invoice_id,
    cast(po_reference as {{ dbt.type_string() }}) as po_reference,
    cast(invoice_date as date) as invoice_date,
    cast(received_date as date) as received_date,
    cast(last_payment_date as date) as last_payment_date,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(net_amount_base as decimal(18, 4)) as net_amount_base,
    cast(total_amount_base as decimal(18, 4)) as total_amount_base,
    cast(paid_amount_base as decimal(18, 4)) as paid_amount_base,
    cast(decision_id as {{ dbt.type_string() }}) as decision_id,
    cast(decided_by as {{ dbt.type_string() }}) as decided_by,
    cast(decided_at as timestamp) as decided_at,
    cast(decision_reason as {{ dbt.type_string() }}) as decision_reason,
    cast(outcome = 'exception' as boolean) as is_in_review_queue,
    cast(machine_outcome as {{ dbt.type_string() }}) as machine_outcome,
    cast(machine_po_number as {{ dbt.type_string() }}) as machine_po_number,
    cast(
        machine_outcome = 'auto_matched' and decision_id is not null
        and (decision_action = 'reject' or coalesce(decision_po_number, '') <> coalesce(machine_po_number, ''))
        as boolean
    ) as is_auto_match_reversed,
    cast(serving as {{ dbt.type_string() }}) as serving,
    cast(is_fallback as boolean) as is_fallback,
    cast(run_mode as {{ dbt.type_string() }}) as run_mode
from decided
