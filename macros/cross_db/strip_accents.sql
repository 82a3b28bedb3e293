{#-
  strip_accents(expression): letters with diacritics folded to their base letter ('Müller' -> 'Muller',
  'Ñandú' -> 'Nandu'), so spellings typed on different keyboards compare equal. Letters that are not a
  base letter plus a mark stay as they are on every engine ('ß', 'ø', 'æ', 'ł').
-#}
{% macro strip_accents(expression) -%}
    {{ return(adapter.dispatch('strip_accents', 'smb_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__strip_accents(expression) -%}
    {#- DuckDB: Unicode decomposition, combining marks removed (utf8proc) -#}
    strip_accents({{ expression }})
{%- endmacro %}

{% macro postgres__strip_accents(expression) -%}
    {#- normalize() (PostgreSQL 13+, UTF8 databases) decomposes, the combining diacritical marks block
        U+0300..U+036F is removed, NFC recomposes the rest. Not the unaccent extension: it is optional and
        also rewrites letters DuckDB keeps ('ß' -> 'ss', 'æ' -> 'ae'). -#}
    normalize(regexp_replace(normalize({{ expression }}, NFD), '[\u0300-\u036f]', '', 'g'), NFC)
{%- endmacro %}

{% macro spark__strip_accents(expression) -%}
    {#- Spark has no Unicode normalisation function: translate() maps every letter of U+00C0..U+017F (Latin-1
        Supplement, Latin Extended-A) that decomposes into a base letter and marks (the table was checked
        against Unicode NFD); accented letters outside that range keep their accents on Spark. -#}
    translate({{ expression }},
        'ÀÁÂÃÄÅàáâãäåĀāĂăĄąÇçĆćĈĉĊċČčĎďÈÉÊËèéêëĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥÌÍÎÏìíîïĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľÑñŃńŅņŇňÒÓÔÕÖòóôõöŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲųŴŵÝýÿŶŷŸŹźŻżŽž',
        'AAAAAAaaaaaaAaAaAaCcCcCcCcCcDdEEEEeeeeEeEeEeEeEeGgGgGgGgHhIIIIiiiiIiIiIiIiIJjKkLlLlLlNnNnNnNnOOOOOoooooOoOoOoRrRrRrSsSsSsSsTtTtUUUUuuuuUuUuUuUuUuUuWwYyyYyYZzZzZz')
{%- endmacro %}
