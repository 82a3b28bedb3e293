"""Demand forecasting: a direct multi-horizon gradient-boosting model on the dbt feature table
models/ml/ml_demand_features, a seasonal-naive baseline, rolling-origin backtest, split-conformal
intervals, and the champion gate. Models live only in the MLflow registry (ml/registry.py)."""
