"""Desired state (issue 9): deployments, reconcile, rollouts.

- `spec`: what a deployment may hold (validation, defaults), saving it with its history.
- `selector`: which servers a deployment selects.
- `reconcile`: desired against actual, from the inventory scraping holds; drift becomes
  load actions of the system user "reconciler" (fleet.control.converge runs them).
- `rollout`: a change of versions, wave by wave, with gates and automatic rollback.
- `gates`: the smoke inference and the metrics gate between waves.
- `golden`: golden inputs against the model's inputs, and where the config comes from.
- `record`: the one wire format of a deployment and of a rollout, and their broadcasts.
"""
