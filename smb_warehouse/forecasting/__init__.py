"""Demand forecasting: a direct multi-horizon gradient-boosting model on the dbt feature table
int_forecasting__demand_features, a seasonal-naive baseline, rolling-origin backtest, split-conformal
intervals, and the champion gate. Models live only in the MLflow registry (smb_warehouse/core/registry.py)."""
