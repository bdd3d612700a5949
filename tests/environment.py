"""Loaded as a plugin before Django's settings: environment for this test run only."""

import os

# Tasks of this run go to their own queue, so a demo on the same Redis never takes them.
os.environ.setdefault("FLEET_CELERY_QUEUE", f"fleetdeck-test-{os.getpid()}")
os.environ.setdefault("FLEET_REDIS_PREFIX", f"fleetdeck-test-{os.getpid()}")
