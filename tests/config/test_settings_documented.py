"""Every environment variable the settings read is in the README's settings table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    settings = (ROOT / "config" / "settings.py").read_text()
    names = set(re.findall(r'env_[a-z]+\(\s*"([A-Z_][A-Z0-9_]*)"', settings))
    assert len(names) > 20
    readme = (ROOT / "README.md").read_text()
    assert sorted(name for name in names if f"`{name}`" not in readme) == []
