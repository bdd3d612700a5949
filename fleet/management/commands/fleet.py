"""`python manage.py fleet load|unload|promote|rollback|ensure SERVER MODEL [VERSION]`, for incidents.

It goes through the same gate and service as the API (same checks in the same order, same
Action row, same Celery task), then waits and prints progress until the action ends.
SERVER is a name or an id.
The requester is `--user USERNAME`, else the Django user named like the OS user running
the command; either must exist and be an operator (or admin). `--inline` also runs the
action in this process, for when no worker is up: whichever of this process and a worker
claims the row first runs it, the other does nothing.

`ensure` is the autopilot's ensure-loaded (fleet/autopilot/ensure.py): READY at once if it
is, else it loads the model (evicting under the server's budget, or joining a load under
way) and prints the outcome as JSON.

`deploy NAME --versions 2` and `rollout status|pause|resume|abort ID` are desired state's
(fleet/deploy/cli.py): a rollout, waited for with its waves printed as they go.

Exit status: 0 succeeded, 1 failed, 2 refused (read-only, unknown, forbidden, conflict, fits
nowhere), 3 still running when --timeout ran out.
"""

from __future__ import annotations

import getpass
import json
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from fleet.autopilot import ensure
from fleet.control import errors, record, runner
from fleet.control.gate import check_control
from fleet.control.requests import request_action
from fleet.deploy import cli as deploy_cli
from fleet.models import Action


class Command(BaseCommand):
    help = "Load, unload, promote or roll back a model on one server, and wait for the outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[*Action.Kind.values, "ensure", "deploy", "rollout"])
        parser.add_argument("server", help="server name or id (deploy: the deployment; rollout: the verb)")
        parser.add_argument("model", nargs="?", help="(rollout: its id)")
        parser.add_argument("version", nargs="?", type=int, help="promote: the version to serve")
        parser.add_argument("--user", help="requester (default: the Django user named like the OS user)")
        parser.add_argument("--confirm", action="store_true", help="unload even if it served traffic lately")
        parser.add_argument("--unload-dependents", action="store_true")
        parser.add_argument("--inline", action="store_true", help="also run it here (no worker needed)")
        parser.add_argument("--no-wait", action="store_true", help="print the action id and return")
        parser.add_argument("--timeout", type=float, default=None, help="seconds to wait")
        parser.add_argument("--versions", help="deploy: 2, 2,3 or latest (fleet/deploy/cli.py)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = self._user(options["user"])
        if options["kind"] == "deploy":
            return deploy_cli.deploy(
                self.stdout, user, options["server"], options["versions"], options["timeout"] or 3600
            )
        if options["kind"] == "rollout":
            return deploy_cli.rollout_command(self.stdout, user, options["server"], options["model"])
        if options["model"] is None:
            raise CommandError("MODEL is needed", returncode=2)
        if options["kind"] == "ensure":
            return self._ensure(user, options)
        try:
            server = check_control(user, options["server"], options["model"])
            action = request_action(
                server,
                options["model"],
                options["kind"],
                user,
                version=options["version"],
                confirm=options["confirm"],
                unload_dependents=options["unload_dependents"],
            )
        except errors.ActionError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(f"action #{action.id}: {action.kind} {action.model} on {server.name} queued")
        if options["no_wait"]:
            return
        timeout = options["timeout"] or settings.FLEET_LOAD_TIMEOUT + settings.FLEET_VERIFY_TIMEOUT
        runner = threading.Thread(target=self._run_here, args=(action.id,), daemon=True)
        if options["inline"]:
            runner.start()  # in a thread, so that progress prints while it runs
        try:
            self._wait(action.id, timeout)
        finally:
            if runner.is_alive():
                runner.join(timeout=1)

    def _ensure(self, user: Any, options: dict[str, Any]) -> None:
        try:
            server = check_control(user, options["server"], options["model"])
            result = ensure.ensure(
                server, options["model"], user, wait=not options["no_wait"], timeout=options["timeout"]
            )
        except errors.ActionError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(json.dumps(result.record()))
        if result.state == "FAILED":
            raise CommandError(result.error, returncode=1)
        if result.state != "READY" and not options["no_wait"]:
            raise CommandError(f"action #{result.action_id} still {result.state}", returncode=3)

    def _run_here(self, action_id: int) -> None:
        try:
            runner.run_action(action_id)
        finally:
            connection.close()

    def _user(self, username: str | None) -> Any:
        name = username or getpass.getuser()
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise CommandError(f"no active FleetDeck user {name!r} (use --user)", returncode=2)
        return user

    def _wait(self, action_id: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        seen, last_print = "", 0.0
        while True:
            action = Action.objects.get(id=action_id)
            now = time.monotonic()
            if action.state != seen or (action.state == Action.State.RUNNING and now - last_print >= 2):
                self.stdout.write(self._progress(action))
                seen, last_print = action.state, now
            if action.state == Action.State.SUCCEEDED:
                self.stdout.write(self.style.SUCCESS(action.result))
                return
            if action.state == Action.State.FAILED:
                raise CommandError(action.error, returncode=1)
            if now > deadline:
                raise CommandError(
                    f"action #{action_id} still {action.state} after {timeout:.0f} s", returncode=3
                )
            time.sleep(0.2)

    def _progress(self, action: Action) -> str:
        line = f"  {action.state}"
        elapsed = record.elapsed_s(action)
        if elapsed is not None:
            line += f" {elapsed:.1f} s"
        estimate = record.estimate_s(action)
        if estimate is not None:
            line += f" (usually {estimate:.1f} s)"
        return line
