"""On-call (issue 11): alert rules evaluated as data arrives, their causes, webhooks.

- defaults.py: the rules every installation starts with (migration 0010 creates them);
- rules.py: validating and scoping rules; the one query evaluation reads them with;
- evaluate.py: which rules hold, run by the scrape path (fleet.services), the action path
  (fleet.control.record.finish) and, for stale servers, beat's fan-out
  (fleet.tasks.dispatch_scrapes);
- states.py: the state machine (pending → firing → resolved) those feed;
- saturation.py: busy ratio per model, for causes and FleetDeck's /metrics;
- causes.py: why a model's queue time rose, from the scrape's own values;
- records.py: the one wire format of each object (API, `fleet.alert` frames, page seeds);
- notify.py: frames to the pages and webhook deliveries, once committed;
- webhooks.py: payload formats and deliveries (Celery, retried with backoff);
- silence.py: silencing and acknowledging (operators, audited);
- timeline.py: the incident timeline of a server or a model.
"""
