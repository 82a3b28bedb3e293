"""Event-driven intake: source systems (or the API's webhook) publish versioned events to a Redis stream;
the consumer validates each one with the file loader's own contract validation, lands the valid ones as
micro-batch files (so events and files share one loader), scores the AI decision in real time, and records
everything in the event store. The batch pipeline stays the source of truth. Never imports Dagster."""
