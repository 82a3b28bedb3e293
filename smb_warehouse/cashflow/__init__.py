"""Cash-flow monitoring: bank-line anomaly scoring and the tables it writes."""
