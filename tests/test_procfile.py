"""The Procfile (what `make demo`, `honcho start` and the live benchmarks run) keeps webhook
deliveries on a worker of their own, on the queue config/settings.py routes them to."""

import shlex
import subprocess
from pathlib import Path

from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parent.parent


def expanded(command: str, env: dict[str, str]) -> list[str]:
    """The command's words as the shell that runs it sees them."""
    out = subprocess.run(
        ["bash", "-c", f"printf '%s\\n' {command}"], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_it_runs_deliveries_on_a_thread_worker_of_their_own() -> None:
    processes = parse_procfile((ROOT / "Procfile").read_text()).processes
    assert set(processes) == {"web", "worker", "notify", "beat"}
    for env, queue in (({}, "celery-notify"), ({"FLEET_CELERY_QUEUE": "demo"}, "demo-notify")):
        worker = expanded(processes["worker"], {"PATH": "/usr/bin:/bin", **env})
        notify = expanded(processes["notify"], {"PATH": "/usr/bin:/bin", **env})
        assert f"--exclude-queues={queue}" in worker, shlex.join(worker)
        assert {f"--queues={queue}", "--pool=threads"} <= set(notify), shlex.join(notify)
