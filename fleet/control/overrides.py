"""Config overrides: merging them into a live config, and finding where a live config no
longer carries them.

An override is a partial Triton config (JSON). Objects merge key by key; anything else (a
list, a number, a string) replaces what the live config holds. Comparing looks only at the
keys the override sets, so the rest of the config (which Triton fills with defaults) never
shows as drift. Triton's JSON writes 64-bit integers as numbers in some versions and as
strings in others: a number and its decimal string compare equal.
"""

from __future__ import annotations

import json
from typing import Any

# A parameter only FleetDeck writes, whose new value makes Triton reload the versions it
# serves. Triton's reload check ignores version_policy (and instance_group): a load whose
# policy yields the versions already READY keeps those versions, and the config they report,
# as they were (see fleet.control.converge).
RELOAD_MARKER = "fleetdeck_reload"


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def same_policy(found: Any, wanted: dict[str, Any]) -> bool:
    """Whether a config's version_policy (Triton's JSON) is the wanted one: specific versions
    compared as a set of ints, latest by its count."""

    def normal(policy: Any) -> Any:
        if not isinstance(policy, dict):
            return policy
        if "specific" in policy:
            versions = (policy.get("specific") or {}).get("versions") or []
            return ("specific", sorted({int(v) for v in versions}))
        if "latest" in policy:
            return ("latest", int((policy.get("latest") or {}).get("num_versions") or 1))
        return tuple(sorted(policy))

    try:
        return bool(normal(found) == normal(wanted))
    except (TypeError, ValueError):
        return False


def with_reload_marker(config: dict[str, Any], value: str) -> dict[str, Any]:
    parameters = dict(config.get("parameters") or {})
    parameters[RELOAD_MARKER] = {"string_value": value}
    return {**config, "parameters": parameters}


def config_drift(live: dict[str, Any], policy: dict[str, Any], override: dict[str, Any]) -> list[str]:
    """What a live config lacks of a version policy and an override, one text per key."""
    found = [f"config: {text}" for text in differences(override, live)]
    have = live.get("version_policy") or {"latest": {"num_versions": 1}}
    if not same_policy(have, policy):
        found.insert(0, f"version policy desired {_short(policy)} ≠ live {_short(have)}")
    return found


def differences(override: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """'path desired X ≠ live Y' for each key the override sets that the live config does
    not hold; [] when it carries them all."""
    out: list[str] = []
    _walk(override, live, "", out)
    return out


def _walk(want: Any, got: Any, path: str, out: list[str]) -> None:
    if isinstance(want, dict):
        if not isinstance(got, dict):
            out.append(f"{path or 'config'} desired {_short(want)} ≠ live {_short(got)}")
            return
        for key, value in want.items():
            _walk(value, got.get(key), f"{path}.{key}" if path else str(key), out)
        return
    if isinstance(want, list):
        # Lists compare element by element, each element as a partial one: an override's
        # instance_group [{"count": 2}] fits a live group that also names its devices.
        if not isinstance(got, list) or len(got) != len(want):
            out.append(f"{path} desired {_short(want)} ≠ live {_short(got)}")
            return
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            _walk(w, g, f"{path}[{i}]", out)
        return
    if not _same_scalar(want, got):
        out.append(f"{path} desired {_short(want)} ≠ live {_short(got)}")


def _same_scalar(want: Any, got: Any) -> bool:
    if want == got and type(want) is type(got):
        return True
    if isinstance(want, bool) or isinstance(got, bool):
        return False
    try:
        return float(want) == float(got)
    except (TypeError, ValueError):
        return False


def _short(value: Any) -> str:
    if value is None:
        return "unset"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
