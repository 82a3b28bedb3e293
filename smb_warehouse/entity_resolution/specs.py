"""What is resolved: per entity type, its input model, id prefix and deterministic rules."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """Records sharing a non-null value of `column` are the same entity.

    `min_length` drops degenerate keys (a 3-digit "VAT id"); `max_group` drops hub values (a
    call-centre number shared by hundreds) that would chain unrelated records together.
    """

    name: str
    column: str
    min_length: int = 1
    max_group: int = 200
    # Guarded rules link only groups whose VAT ids / company domains do not disagree (see clustering.py);
    # a refused link goes to the review queue.
    guarded: bool = False


@dataclass(frozen=True)
class EntitySpec:
    entity_type: str
    model: str          # intermediate.<model> holds one row per source record
    id_prefix: str
    rules: tuple[Rule, ...]
    parent_rule: str | None = None      # rule name for the record -> parent_record_key link
    use_splink: bool = False
    fuzzy_products: bool = False
    summary_columns: tuple[str, ...] = field(default=("display_name",))


CUSTOMER = EntitySpec(
    entity_type="customer",
    model="int_er__customer_records",
    id_prefix="CUS",
    # Ordered by strength: a pair matched by several rules is credited to the first.
    rules=(
        Rule("vat_id", "vat_core", min_length=6),
        Rule("email", "email", min_length=5),
        Rule("company_domain", "company_domain", min_length=4),
        Rule("phone", "phone_e164", min_length=8),
        # the full legal name, identical after normalisation ('MERKUR SOLUTIONS KG' = 'Merkur Solutions KG')
        Rule("legal_name", "name_clean", min_length=8, max_group=10, guarded=True),
    ),
    parent_rule="crm_contact_account",
    use_splink=True,
    summary_columns=("display_name", "company_domain", "vat_id", "phone_e164", "city", "country_code"),
)

SUPPLIER = EntitySpec(
    entity_type="supplier",
    model="int_er__supplier_records",
    id_prefix="SUP",
    rules=(
        Rule("vat_id", "vat_core", min_length=6),
        Rule("email", "email", min_length=5),
        Rule("company_domain", "company_domain", min_length=4),
        Rule("phone", "phone_e164", min_length=8),
        Rule("legal_name", "name_clean", min_length=8, max_group=10, guarded=True),
    ),
    use_splink=True,
    summary_columns=("display_name", "vat_id", "email", "city", "country_code"),
)

PRODUCT = EntitySpec(
    entity_type="product",
    model="int_er__product_records",
    id_prefix="PRD",
    rules=(
        Rule("sku", "code_key", min_length=4),
        Rule("product_name", "name_clean", min_length=3),
    ),
    fuzzy_products=True,
    summary_columns=("display_name", "sku", "category"),
)

SPECS: tuple[EntitySpec, ...] = (CUSTOMER, SUPPLIER, PRODUCT)
