{#-
  hmac_sha256_hex(expression): HMAC-SHA-256 (RFC 2104) of the UTF-8 bytes of a string under the
  installation's secret PII key, as 64 lower-case hex digits (NULL for NULL). The keyed pseudonym of
  personal data in public marts (hash_pii in macros/marts/pii.sql): without the key nobody can recompute
  it from a list of candidate e-mails or IBANs, which an unsalted sha256 allows.

  The key (64 to 128 hex digits, see smb_warehouse/core/pii.py) never appears in the SQL text, so it is in
  no compiled model, manifest, run result or log. Each engine hands it to the query as session state:
    duckdb     session variable smb_pii_hash_key (getvariable), set on every dbt connection by the
               dbt-duckdb plugin smb_warehouse.core.dbt_duckdb_pii (profiles.yml)
    postgres   custom setting smb.pii_hash_key (current_setting), e.g. PGOPTIONS='-c smb.pii_hash_key=<hex>'
    spark      environment variable SMB_PII_HASH_KEY of the Spark driver, substituted by Spark's ${env:...}
               variable substitution (not a Spark conf: pyspark passes confs on the JVM's command line)
  A missing or malformed key is an error, never an empty key.

  Method: HMAC(K, m) = H((K xor opad) || H((K xor ipad) || m)), K zero-padded to the 64-byte block,
  ipad = 0x36 and opad = 0x5c repeated (RFC 2104, section 2). None of the three engines has a built-in
  HMAC here (DuckDB none, PostgreSQL only with pgcrypto, Spark 3.5 none), so it is written out with each
  engine's SHA-256 over bytes. Keys longer than the block (which RFC 2104 hashes first) are refused by
  the length check instead. The Python twin, smb_warehouse.core.pii.keyed_hash, gives the same digests
  (tests/dbt/test_cross_db_engines.py).
-#}
{% macro hmac_sha256_hex(expression) -%}
    {{ return(adapter.dispatch('hmac_sha256_hex', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__hmac_sha256_hex(expression) -%}
    {#- DuckDB. The check is at the top of the expression: inside the pad subqueries the optimizer may fold
        a missing variable to NULL without evaluating error(). -#}
    {%- set key = "getvariable('smb_pii_hash_key')" -%}
    {%- set pads = {} -%}
    {%- for name, byte in [('ipad', 54), ('opad', 92)] -%}
        {%- do pads.update({name: "(SELECT unhex(array_to_string(list_transform(range(64), i -> lpad(hex(xor("
            ~ "CASE WHEN 2 * i < length(k) THEN ('0x' || substr(k, 2 * i + 1, 2))::INTEGER ELSE 0 END, " ~ byte
            ~ ")), 2, '0')), '')) FROM (SELECT " ~ key ~ " AS k) AS hmac_key)"}) -%}
    {%- endfor -%}
    CASE WHEN regexp_full_match(coalesce({{ key }}, ''), '([0-9a-f]{2}){32,64}')
        THEN lower(sha256({{ pads.opad }} || unhex(sha256({{ pads.ipad }} || encode({{ expression }})))))
        ELSE error('the PII hash key (smb_pii_hash_key) is not set on this connection or is not 64 to 128 hex digits: see smb_warehouse/core/pii.py') END
{%- endmacro %}

{% macro postgres__hmac_sha256_hex(expression) -%}
    {#- PostgreSQL 11+: sha256(bytea) is built in; the pads are built once per query (uncorrelated scalar
        subqueries). A malformed key fails decode(); a missing one fails current_setting(). -#}
    {%- set pads = {} -%}
    {%- for name, byte in [('ipad', 54), ('opad', 92)] -%}
        {%- do pads.update({name: "(select decode(string_agg(lpad(to_hex((case when i < length(k.b) then get_byte(k.b, i) "
            ~ "else 0 end) # " ~ byte ~ "), 2, '0'), '' order by i), 'hex') from (select decode(case when "
            ~ "current_setting('smb.pii_hash_key') ~ '^([0-9a-f]{2}){32,64}$' then current_setting('smb.pii_hash_key') "
            ~ "else 'not a key' end, 'hex') as b) as k, generate_series(0, 63) as i)"}) -%}
    {%- endfor -%}
    encode(sha256({{ pads.opad }} || sha256({{ pads.ipad }} || convert_to({{ expression }}, 'UTF8'))), 'hex')
{%- endmacro %}

{% macro spark__hmac_sha256_hex(expression) -%}
    {#- Spark 3.5: concat() of binaries is binary, sha2() takes binary; ${env:SMB_PII_HASH_KEY} is replaced by
        the driver's environment variable before parsing (spark.sql.variable.substitute, on by default); unset,
        it stays as written and fails the hex check. -#}
    {%- set key = "'${env:SMB_PII_HASH_KEY}'" -%}
    {%- set pads = {} -%}
    {%- for name, byte in [('ipad', 54), ('opad', 92)] -%}
        {%- do pads.update({name: "unhex(concat_ws('', transform(sequence(0, 63), i -> lpad(hex(coalesce(cast(conv(substr("
            ~ key ~ ", 2 * i + 1, 2), 16, 10) as int), 0) ^ " ~ byte ~ "), 2, '0'))))"}) -%}
    {%- endfor -%}
    case when {{ key }} rlike '^([0-9a-f]{2}){32,64}$'
        then sha2(concat({{ pads.opad }}, unhex(sha2(concat({{ pads.ipad }}, encode({{ expression }}, 'UTF-8')), 256))), 256)
        else raise_error('the PII hash key (smb_pii_hash_key) is not set on this connection or is not 64 to 128 hex digits: see smb_warehouse/core/pii.py') end
{%- endmacro %}
