{#-
  All support tickets about products of supplier X (graph: supplier_supplies_product -> ticket_concerns_product).
  vars: supplier_id (unified).
-#}
{%- set supplier_id = var('supplier_id', 'SUP-000001') %}
select
    tickets.node_id as ticket_node_id,
    replace(tickets.node_id, 'ticket:', '') as support_ticket_id,
    replace(supplies.dst_node_id, 'product:', '') as product_id,
    tickets.properties as ticket_properties
from {{ ref('fct_graph_edges') }} as supplies
inner join {{ ref('fct_graph_edges') }} as concerns
    on concerns.edge_type = 'ticket_concerns_product' and concerns.dst_node_id = supplies.dst_node_id
inner join {{ ref('dim_graph_nodes') }} as tickets
    on tickets.node_id = concerns.src_node_id
where supplies.edge_type = 'supplier_supplies_product'
    and supplies.src_node_id = 'supplier:{{ supplier_id }}'
order by support_ticket_id
