"""`manage.py check --deploy` is clean with the production environment, and not without it."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FLEET_HTTPS", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_it_reports_nothing_with_the_production_environment() -> None:
    result = check_deploy(
        SECRET_KEY=secrets.token_urlsafe(50), FLEET_HTTPS="true", ALLOWED_HOSTS="fleet.example.com"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_flags_the_development_defaults(tmp_path: Path) -> None:
    result = check_deploy(FLEET_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT" in result.stderr + result.stdout
