{#-
  Matching-key normalisation for entity resolution (models/intermediate/er).
  Plain expressions of their argument; engine-specific functions come from macros/cross_db.
-#}

{#- Accents folded (Müller -> Muller) so spellings from different keyboards compare equal (macros/cross_db). -#}
{% macro er_strip_accents(expression) -%}
    {{ smb_warehouse.strip_accents(expression) }}
{%- endmacro %}


{#-
  Company / product name for comparison: lower case, accents folded ('ß' -> 'ss'), '&' and 'und'/'and' dropped,
  dots removed inside abbreviations (B.V. -> bv), other punctuation to spaces, whitespace collapsed.
-#}
{% macro er_name_clean(expression) -%}
    {%- set lowered = "replace(" ~ smb_warehouse.er_strip_accents('lower(' ~ expression ~ ')') ~ ", 'ß', 'ss')" -%}
    {%- set no_dots = "replace(" ~ lowered ~ ", '.', '')" -%}
    {%- set no_punct = smb_warehouse.regexp_replace_all(no_dots, '[^a-z0-9]+', ' ') -%}
    {%- set no_and = smb_warehouse.regexp_replace_all("' ' || " ~ no_punct ~ " || ' '", ' (und|and|et) ', ' ') -%}
    nullif(trim({{ smb_warehouse.regexp_replace_all(no_and, '\s+', ' ') }}), '')
{%- endmacro %}


{#- Legal-form words removed from a cleaned name: 'jura bau gmbh co kg' -> 'jura bau'. -#}
{% macro er_legal_suffixes() -%}
    {{ return(['gmbh', 'mbh', 'ag', 'kg', 'kgaa', 'co', 'ohg', 'ug', 'eg', 'ev', 'ek', 'gbr', 'se', 'ei', 'eirl', 'ltd', 'limited', 'plc',
               'llp', 'llc', 'inc', 'corp', 'corporation', 'company', 'sarl', 'sas', 'sa', 'sasu', 'eurl', 'snc',
               'bv', 'nv', 'vof', 'cv', 'srl', 'spa', 'sl', 'slu', 'ab', 'as', 'aps', 'oy', 'sp', 'zoo']) }}
{%- endmacro %}

{% macro er_name_core(cleaned_name) -%}
    {%- set words = smb_warehouse.er_legal_suffixes() | join('|') -%}
    {%- set padded = "' ' || " ~ cleaned_name ~ " || ' '" -%}
    {#- applied twice (no look-ahead in RE2): each match consumes the space it shares with the next word,
        so adjacent suffixes ('gmbh co kg') need a second pass -#}
    {%- set once = smb_warehouse.regexp_replace_all(padded, ' (' ~ words ~ ') ', '  ') -%}
    {%- set twice = smb_warehouse.regexp_replace_all(once, ' (' ~ words ~ ') ', '  ') -%}
    nullif(trim({{ smb_warehouse.regexp_replace_all(twice, '\s+', ' ') }}), '')
{%- endmacro %}


{#- VAT id without its country prefix (DE123456789 -> 123456789): exports drop the prefix inconsistently. -#}
{% macro er_vat_core(normalized_vat) -%}
    case
        when {{ smb_warehouse.regexp_matches(normalized_vat, '^[A-Z]{2}[0-9]') }} then substr({{ normalized_vat }}, 3)
        else {{ normalized_vat }}
    end
{%- endmacro %}


{#- Part after the '@' of a normalised e-mail. -#}
{% macro er_email_domain(email) -%}
    nullif(split_part({{ email }}, '@', 2), '')
{%- endmacro %}


{#- Public mailbox providers: a shared domain there says nothing about the company. -#}
{% macro er_public_email_domains() -%}
    {{ return(['gmail.com', 'googlemail.com', 'yahoo.com', 'yahoo.de', 'yahoo.fr', 'yahoo.co.uk', 'hotmail.com',
               'hotmail.de', 'hotmail.fr', 'outlook.com', 'outlook.de', 'live.com', 'msn.com', 'aol.com',
               'icloud.com', 'me.com', 'gmx.de', 'gmx.net', 'gmx.at', 'web.de', 't-online.de', 'freenet.de',
               'orange.fr', 'wanadoo.fr', 'free.fr', 'laposte.net', 'btinternet.com', 'proton.me',
               'protonmail.com', 'mail.com', 'ziggo.nl', 'kpnmail.nl', 'example.com']) }}
{%- endmacro %}

{#- The domain when it identifies a company (not a public mailbox provider), else NULL. -#}
{% macro er_company_domain(domain) -%}
    case when {{ domain }} not in ('{{ smb_warehouse.er_public_email_domains() | join("', '") }}') then {{ domain }} end
{%- endmacro %}


{#- SKU / code as letters and digits only, upper case ('wrk7048' and 'WRK-7048' -> 'WRK7048'). -#}
{% macro er_code_key(expression) -%}
    nullif({{ smb_warehouse.regexp_replace_all('upper(' ~ expression ~ ')', '[^A-Z0-9]', '') }}, '')
{%- endmacro %}


{#-
  Street for comparison: lower case, accents folded, punctuation to spaces, and the street-type words the
  exports spell both ways reduced to one short form, inside words too ('Mühlenstraße 4' and 'Mühlenstr. 4'
  -> 'muhlenstr 4'; 'Keizersstraat' -> 'keizersstr'; '12 High Street' and '12 High St' -> '12 high st';
  'avenue'/'av.' -> 'ave', 'boulevard'/'bd' -> 'blvd', 'rue' -> 'r', 'platz' -> 'pl', 'gracht' -> 'gr',
  'road' -> 'rd', 'lane' -> 'ln'). Plain replaces on a space-padded string: portable, no look-around.
-#}
{% macro er_street_clean(expression) -%}
    {%- set lowered = "replace(" ~ smb_warehouse.er_strip_accents('lower(' ~ expression ~ ')') ~ ", 'ß', 'ss')" -%}
    {%- set spaced = smb_warehouse.regexp_replace_all(lowered, '[^a-z0-9]+', ' ') -%}
    {%- set ns = namespace(s="' ' || " ~ spaced ~ " || ' '") -%}
    {%- for long, short in [('strasse ', 'str '), ('straat ', 'str '), ('platz ', 'pl '), ('gracht ', 'gr '),
                            ('weg ', 'wg '), (' street ', ' st '), (' road ', ' rd '), (' lane ', ' ln '),
                            (' avenue ', ' ave '), (' av ', ' ave '), (' boulevard ', ' blvd '), (' bd ', ' blvd '),
                            (' rue ', ' r ')] -%}
        {%- set ns.s = "replace(" ~ ns.s ~ ", '" ~ long ~ "', '" ~ short ~ "')" -%}
    {%- endfor -%}
    nullif(trim({{ smb_warehouse.regexp_replace_all(ns.s, '\s+', ' ') }}), '')
{%- endmacro %}


{#- Postal code as upper-case letters and digits ('ec1a 1bb' and 'EC1A1BB' -> 'EC1A1BB'). -#}
{% macro er_postal_clean(expression) -%}
    nullif({{ smb_warehouse.regexp_replace_all('upper(' ~ expression ~ ')', '[^A-Z0-9]', '') }}, '')
{%- endmacro %}
