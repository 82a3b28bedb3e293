{#-
  name_similarity(a, b): similarity of two short strings (names) in 0..1, 1 for equal strings.
  DuckDB: Jaro-Winkler similarity (built in: over the UTF-8 bytes, prefix weight 0.1 on up to 4 bytes when
  Jaro > 0.7, 0 when either string is empty). PostgreSQL: the same function, the same values to the bit,
  as a PL/pgSQL function engine_setup() creates (<target schema>.smb_jaro_winkler_similarity).
  Spark has no Jaro-Winkler and Spark SQL cannot define one: there it is the normalised Levenshtein
  similarity 1 - distance / max(length), same range and direction but other values, so a model trained
  on DuckDB's or PostgreSQL's values must be retrained on Spark's. NULL when either is NULL.
-#}
{% macro name_similarity(a, b) -%}
    {{ return(adapter.dispatch('name_similarity', 'smb_warehouse')(a, b)) }}
{%- endmacro %}

{% macro default__name_similarity(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{% macro levenshtein_similarity(a, b) -%}
    (1.0 - {{ smb_warehouse.edit_distance(a, b) }} * 1.0 / nullif(greatest(length({{ a }}), length({{ b }})), 0))
{%- endmacro %}

{% macro postgres__name_similarity(a, b) -%}
    {{ adapter.quote(target.schema) }}.smb_jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{#- DuckDB's jaro_winkler_similarity (rapidfuzz's algorithm) in PL/pgSQL: bytes of the UTF-8 encoding, match
    window max(len) / 2 - 1, half the out-of-order matches as transpositions (integer), Winkler boost
    over a common prefix of at most 4 bytes when Jaro > 0.7; the float operations in DuckDB's order. -#}
{% macro postgres_jaro_winkler_function(schema) -%}
create or replace function {{ schema }}.smb_jaro_winkler_similarity(a text, b text) returns double precision
language plpgsql immutable strict parallel safe as $smb_jw$
declare
    s1 bytea := convert_to(a, 'UTF8');
    s2 bytea := convert_to(b, 'UTF8');
    n1 integer := length(s1);
    n2 integer := length(s2);
    w integer;
    m integer := 0;
    t integer := 0;
    p integer := 0;
    i integer;
    j integer;
    f1 boolean[];
    f2 boolean[];
    sim double precision;
begin
    if n1 = 0 or n2 = 0 then
        return 0;
    end if;
    w := greatest(greatest(n1, n2) / 2 - 1, 0);
    f1 := array_fill(false, array[n1]);
    f2 := array_fill(false, array[n2]);
    for i in 0 .. n1 - 1 loop
        for j in greatest(0, i - w) .. least(n2 - 1, i + w) loop
            if not f2[j + 1] and get_byte(s1, i) = get_byte(s2, j) then
                f1[i + 1] := true;
                f2[j + 1] := true;
                m := m + 1;
                exit;
            end if;
        end loop;
    end loop;
    if m = 0 then
        return 0;
    end if;
    j := 0;
    for i in 0 .. n1 - 1 loop
        if f1[i + 1] then
            while not f2[j + 1] loop
                j := j + 1;
            end loop;
            if get_byte(s1, i) <> get_byte(s2, j) then
                t := t + 1;
            end if;
            j := j + 1;
        end if;
    end loop;
    t := t / 2;
    sim := (cast(m as double precision) / cast(n1 as double precision)
            + cast(m as double precision) / cast(n2 as double precision)
            + cast(m - t as double precision) / cast(m as double precision)) / cast(3 as double precision);
    if sim > cast(0.7 as double precision) then
        while p < least(4, n1, n2) and get_byte(s1, p) = get_byte(s2, p) loop
            p := p + 1;
        end loop;
        sim := sim + cast(p as double precision) * cast(0.1 as double precision) * (cast(1 as double precision) - sim);
    end if;
    return sim;
end
$smb_jw$
{%- endmacro %}

{% macro spark__name_similarity(a, b) -%}
    {{ return(smb_warehouse.levenshtein_similarity(a, b)) }}
{%- endmacro %}
