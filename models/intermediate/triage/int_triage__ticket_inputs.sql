{#-
  What the ticket classifier reads: one row per ticket with its text, the product it was resolved to and
  the desk's own labels (category / priority as typed by agents: ~20% blank, some wrong). The closing
  signature ("Regards, <name>") is cut from the body so personal names do not become model features.
  Protected: free text stays in the intermediate layer.
-#}
select
    cast(stg.support_ticket_id as {{ dbt.type_string() }}) as support_ticket_id,
    {#- cuts from 'regards,' (any case) to the end when no line break follows it; in a Jinja string
        '[^\\n]' is the regex [^\n], any character but a newline -#}
    cast(coalesce(stg.subject, '') || ' '
        || coalesce({{ regexp_replace_all('stg.body', '(?i)regards,[^\\n]*$', '') }}, '')
        as {{ dbt.type_string() }}) as ticket_text,
    cast(stg.product_mentioned as {{ dbt.type_string() }}) as product_mentioned,
    cast(fct.product_id as {{ dbt.type_string() }}) as product_id,
    cast(fct.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(stg.channel as {{ dbt.type_string() }}) as channel,
    cast(stg.ticket_category as {{ dbt.type_string() }}) as desk_category,
    cast(stg.priority as {{ dbt.type_string() }}) as desk_priority,
    cast(stg.created_at as timestamp) as created_at
from {{ ref('stg_support__tickets') }} as stg
inner join {{ ref('fct_support_tickets') }} as fct on fct.support_ticket_id = stg.support_ticket_id
