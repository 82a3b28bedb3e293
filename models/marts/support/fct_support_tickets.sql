{#-
  One row per support ticket, keyed to the unified customer (normalised e-mail) and product (normalised
  mention text). Free text (subject, body, resolution) and the customer's name/e-mail stay in staging.
-#}
with

tickets as (
    select *, {{ normalize_mention('product_mentioned') }} as mention_key
    from {{ ref('stg_support__tickets') }}
),
customers as (
    select source_id, customer_id from {{ ref('bdg_customer_source_ids') }}
    where source_system = 'support'
),
products as (
    select source_id, product_id from {{ ref('bdg_product_source_ids') }}
    where source_system = 'support' and source_entity = 'product_mentions'
)

select
    cast(tickets.support_ticket_id as {{ dbt.type_string() }}) as support_ticket_id,
    cast(customers.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(products.product_id as {{ dbt.type_string() }}) as product_id,
    cast(tickets.ticket_category as {{ dbt.type_string() }}) as ticket_category,
    cast(tickets.priority as {{ dbt.type_string() }}) as priority,
    cast(tickets.channel as {{ dbt.type_string() }}) as channel,
    cast(tickets.ticket_status as {{ dbt.type_string() }}) as ticket_status,
    cast(tickets.contact_count as integer) as contact_count,
    cast(tickets.created_at as timestamp) as created_at,
    cast(tickets.first_response_at as timestamp) as first_response_at,
    cast(tickets.resolved_at as timestamp) as resolved_at,
    {{ hours_between('tickets.created_at', 'tickets.first_response_at') }} as first_response_hours,
    {{ hours_between('tickets.created_at', 'tickets.resolved_at') }} as resolution_hours,
    cast(tickets.resolved_at is not null as boolean) as is_resolved,
    cast(tickets.resolved_at is not null and tickets.contact_count = 1 as boolean) as is_first_contact_resolution,
    cast(tickets._source_file as {{ dbt.type_string() }}) as _source_file,
    cast(tickets._load_id as {{ dbt.type_string() }}) as _load_id
from tickets
left join customers on customers.source_id = tickets.customer_email
left join products on products.source_id = tickets.mention_key
