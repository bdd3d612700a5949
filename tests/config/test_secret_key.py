"""No install signs sessions with a published key: one is made per install, kept with its data,
and production refuses to start without an explicit one."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def secret_key(var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FLEET_HTTPS"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.SECRET_KEY)"],
        cwd=ROOT, env={**base, "FLEET_VAR_DIR": str(var_dir), **env}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def test_it_makes_one_key_per_install_and_keeps_it(tmp_path: Path) -> None:
    first = secret_key(tmp_path / "a").stdout.strip()
    assert len(first) >= 50
    assert secret_key(tmp_path / "a").stdout.strip() == first
    assert secret_key(tmp_path / "b").stdout.strip() not in {"", first}
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0


def test_it_uses_the_key_it_is_given(tmp_path: Path) -> None:
    assert secret_key(tmp_path, SECRET_KEY="given-key-" + "x" * 50).stdout.strip() == "given-key-" + "x" * 50
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    for env in ({"FLEET_HTTPS": "true"}, {"FLEET_REQUIRE_SECRET_KEY": "1"}):
        result = secret_key(tmp_path, **env)
        assert result.returncode != 0
        assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret_key").exists()
