"""On-call (issue 11): alert rules evaluated as data arrives, their causes, webhooks.

- rules.py: validating and scoping rules; the defaults created on install;
- evaluate.py: the state machine (pending → firing → resolved), run by the scrape path
  (fleet.services) and the action path (fleet.control.record.finish);
- causes.py: why a model's queue time rose, from the scrape's own values;
- saturation.py: busy ratio per model, for causes and FleetDeck's /metrics;
- records.py: the one wire format of an alert (API, frames, page seeds);
- webhooks.py: payload formats and deliveries (Celery, retried with backoff).
"""
