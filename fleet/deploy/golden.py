"""Golden requests against the model's inputs: where the config comes from, and the check.

A deployment's golden inputs are checked when it is saved, against the best config to be
had: the one the inventory last read on a selected server, else the live one, asked of up
to `ASKED` selected servers that are up (Triton answers the config only of a model it has
loaded: a 404 for one it does not serve). When no selected server serves the model, no
config can be had before a load (Triton keeps none for a model it does not serve, and its
API does not read config.pbtxt), so the deployment is saved and the check runs again at the
first rollout wave's smoke gate, on the canary's live config and before any inference
(fleet.deploy.gates): a misfit fails the gate, naming the input, and the rollout rolls the
canary back before any other server is touched.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import services, triton
from ..models import ModelConfig, Server

log = logging.getLogger(__name__)

ASKED = 3  # live configs asked for at save time, at most (each a Triton round trip)


def datatype_of(declared: dict[str, Any]) -> str:
    """Triton's config type (TYPE_FP32, TYPE_STRING) as the inference protocol names it."""
    return str(declared.get("data_type", "")).removeprefix("TYPE_").replace("STRING", "BYTES")


def known_config(model: str, servers: list[Server]) -> dict[str, Any] | None:
    """The model's config: the inventory's newest on these servers, else a live one."""
    stored = (
        ModelConfig.objects.filter(server__in=servers, name=model)
        .order_by("-fetched_at")
        .values_list("config", flat=True)
        .first()
    )
    if stored:
        return dict(stored)
    for server in [s for s in servers if s.status != Server.Status.DOWN][:ASKED]:
        try:
            return services.keep_live_config(server, model)
        except triton.TritonError as exc:  # not loaded there (404), or unreachable
            log.info("config of %s on %s: %s", model, server.name, exc)
    return None


def misfit(inputs: list[dict[str, Any]], config: dict[str, Any], model: str) -> str | None:
    """Why golden inputs do not fit the config's inputs (naming the input), or None."""
    declared = {str(i.get("name")): i for i in config.get("input", []) if isinstance(i, dict)}
    batched = int(config.get("max_batch_size") or 0) > 0
    given = set()
    for item in inputs:
        name = str(item.get("name"))
        given.add(name)
        if name not in declared:
            return f"smoke input {name} is not an input of {model} ({', '.join(declared)})"
        want = datatype_of(declared[name])
        if want and want != item.get("datatype"):
            return f"smoke input {name} is {item.get('datatype')}, but {model} takes {want}"
        shape = _shape_misfit(list(item.get("shape") or []), declared[name], batched)
        if shape:
            return f"smoke input {name}: {shape}"
    missing = [n for n, i in declared.items() if n not in given and not i.get("optional")]
    if missing:
        return f"smoke lacks input {missing[0]} of {model}"
    return None


def _shape_misfit(shape: list[Any], declared: dict[str, Any], batched: bool) -> str | None:
    try:
        dims = [int(d) for d in declared.get("dims", [])]
        got = [int(d) for d in shape]
    except (TypeError, ValueError):
        return f"shape {shape} is not a list of integers"
    if batched:
        if not got:
            return f"shape {shape} lacks the batch dimension"
        got = got[1:]
    if len(got) != len(dims) or any(d != -1 and d != g for d, g in zip(dims, got, strict=True)):
        prefix = "[batch, " if batched else "["
        return f"shape {shape} does not fit the model's dims {prefix}{', '.join(map(str, dims))}]"
    return None
