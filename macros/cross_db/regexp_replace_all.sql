{#-
  regexp_replace_all(expression, pattern, replacement): every non-overlapping match of `pattern` in
  `expression` replaced by `replacement`. Both are SQL string-literal *contents* (no surrounding quotes).

  One pattern dialect for every engine: the subset on which RE2 (DuckDB), PostgreSQL advanced regular
  expressions and java.util.regex (Spark) agree.
    - Literal text, [classes], [^negated classes], \s \d \w, quantifiers, (groups), |, ^ and $ anchors
      at the start / end of the whole string, a leading (?i) for case-insensitive matching.
    - No `.` wildcard where the text can hold line breaks: RE2 and Java stop `.` at a newline (Java also
      at \r, \u0085, \u2028, \u2029), PostgreSQL does not (docs 9.7.3.5, newline-sensitive matching is
      off by default). Write [^\n] for "any character but a newline": identical on all three.
    - $ means the end of the string. Java's $ also matches before a final line terminator
      (java.util.regex.Pattern, "Line terminators"), so the Spark implementation turns a pattern-final $
      into \z.
    - \s: RE2 [\t\n\f\r ], Java adds \x0B; PostgreSQL [[:space:]] (locale, may include non-ASCII spaces).
  Replacement: literal text only (no backreferences, no `\` or `$`, which PostgreSQL and Java read as
  group references).
-#}
{% macro regexp_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'smb_warehouse')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro postgres__regexp_replace_all(expression, pattern, replacement) -%}
    {#- 'g': replace all matches (the default replaces the first only) -#}
    {{ return(smb_warehouse.default__regexp_replace_all(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro spark__regexp_replace_all(expression, pattern, replacement) -%}
    {#- Spark's regexp_replace always replaces every match -#}
    regexp_replace({{ expression }}, '{{ smb_warehouse.spark_regex_literal(pattern) }}', '{{ replacement }}')
{%- endmacro %}


{#-
  spark_regex_literal(pattern): a pattern of the dialect above as Spark SQL string-literal contents.
  Spark unescapes backslashes in string literals (spark.sql.parser.escapedStringLiterals=false, the
  default), so each one is doubled; a final unescaped $ becomes \z (end of input, see above), and a
  leading (?i) becomes (?iu) so case folding is Unicode-aware like RE2's instead of ASCII-only.
-#}
{% macro spark_regex_literal(pattern) -%}
    {%- set p = pattern -%}
    {%- if p.startswith('(?i)') -%}{%- set p = '(?iu)' ~ p[4:] -%}{%- endif -%}
    {%- if p.endswith('$') and not p.endswith('\\$') -%}{%- set p = p[:-1] ~ '\\z' -%}{%- endif -%}
    {{- p | replace('\\', '\\\\') -}}
{%- endmacro %}
