{#-
  Cash-flow monitoring settings. Each reads an environment variable first (operators tune alerts without
  touching the project), then a dbt var, then the default here.

    cashflow_cash_floor_base()        SMB_CASH_FLOOR_BASE / var cash_floor_base: alert when the projected
                                      balance (base currency, all accounts) drops below this. Default 0.
    cashflow_anomaly_threshold()      SMB_ANOMALY_SCORE_THRESHOLD / var anomaly_score_threshold: alert on
                                      bank transactions scored at or above this (scores are 0..1). Default 0.7.
    cashflow_alert_lookback_days()    only transactions booked in the last N days (before the latest booking)
                                      raise alerts; older ones are history, not news. Default 365.
-#}
{% macro cashflow_cash_floor_base() -%}
    {{ return(env_var('SMB_CASH_FLOOR_BASE', var('cash_floor_base', '0')) | float) }}
{%- endmacro %}

{% macro cashflow_anomaly_threshold() -%}
    {{ return(env_var('SMB_ANOMALY_SCORE_THRESHOLD', var('anomaly_score_threshold', '0.7')) | float) }}
{%- endmacro %}

{% macro cashflow_alert_lookback_days() -%}
    {{ return(env_var('SMB_ALERT_LOOKBACK_DAYS', var('alert_lookback_days', '365')) | int) }}
{%- endmacro %}
