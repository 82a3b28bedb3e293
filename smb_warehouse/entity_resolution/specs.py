"""What is resolved: per entity type, its input model, id prefix and how its records can be linked."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KeyRule:
    """A person record (contact, ticket requester) joins the one cluster of organisation records that holds
    the same value of ``column``.

    Deterministic only where the key is truly unique: the value must be held by exactly one cluster after
    the organisations were resolved. A personal key (e-mail, phone) held by two or more clusters queues
    the person for review with each candidate; a ``company_key`` (a company domain) held by two or more
    clusters is a shared mailbox provider's domain, whatever its name, and decides nothing.
    """

    name: str
    column: str
    min_length: int = 1
    company_key: bool = False


@dataclass(frozen=True)
class EntitySpec:
    entity_type: str
    model: str          # the dbt model holding one row per source record
    id_prefix: str
    key_rules: tuple[KeyRule, ...] = ()
    parent_rule: str | None = None      # rule name for the record -> parent_record_key link (the source's own link)
    use_splink: bool = False
    products: bool = False
    summary_columns: tuple[str, ...] = field(default=("display_name",))


CUSTOMER = EntitySpec(
    entity_type="customer",
    model="int_er__customer_records",
    id_prefix="CUS",
    key_rules=(
        KeyRule("email", "email", min_length=5),
        KeyRule("phone", "phone_e164", min_length=8),
        KeyRule("company_domain", "company_domain", min_length=4, company_key=True),
    ),
    parent_rule="crm_contact_account",
    use_splink=True,
    summary_columns=("display_name", "street", "postal_code", "city", "country_code", "vat_id", "email",
                     "company_domain", "phone_e164"),
)

SUPPLIER = EntitySpec(
    entity_type="supplier",
    model="int_er__supplier_records",
    id_prefix="SUP",
    use_splink=True,
    summary_columns=("display_name", "street", "city", "country_code", "vat_id", "email", "phone_e164"),
)

PRODUCT = EntitySpec(
    entity_type="product",
    model="int_er__product_records",
    id_prefix="PRD",
    products=True,
    summary_columns=("display_name", "sku", "category"),
)

SPECS: tuple[EntitySpec, ...] = (CUSTOMER, SUPPLIER, PRODUCT)
