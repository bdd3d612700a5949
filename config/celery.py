"""The Celery app: settings come from Django's, under the CELERY_ namespace."""

import os

from celery import Celery

from . import kombu_fix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

kombu_fix.install()  # before any worker connects: see config/kombu_fix.py

app = Celery("fleetdeck")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
