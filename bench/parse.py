"""Benchmark: parse + derive of one Triton exposition, fast path against prometheus_client.

Usage (no database, no Triton needed):
    .venv/bin/python bench/parse.py [--models 100] [--versions 2] [--runs 30]

The payloads are real Triton 2.51 captures (tests/data/) grown to --models x --versions:
the per-model lines of the captured model `fast` relabelled for each model and version,
family by family as Triton prints them, the server-level lines once.
Values are scaled per model and version, so that they differ as real counters do.
- "CPU server": tests/data/triton_cpu_metrics.txt (default metrics flags);
- "GPU server, summaries on": tests/data/triton_cpu_summary_metrics.txt (every family
  Triton 2.51 prints, summary quantiles included) with each model line on two GPUs
  (`gpu_uuid`), plus the nv_gpu_* and energy families of tests/data/triton_gpu_metrics.txt.

Columns: prometheus_client's `text_string_to_metric_families` alone (what FleetDeck parsed
with before), then `derive(previous, parse(text, at))` (previous: the same series 10 % lower)
with the body read by the library (`parse(..., fast=False)`) and by the fast path. Both
paths are checked equal before timing, and the fast path to have taken the payload.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from fleet import exposition  # noqa: E402
from fleet.derive import FAMILIES, Snapshot, derive, parse  # noqa: E402

DATA = ROOT / "tests" / "data"
GPUS = ("GPU-3f1b0c1e-7a42-4c55-9f0e-2b8d6a1c9e01", "GPU-a94d2e77-0c3b-41f8-8e6a-5d7f1b2c4e02")


def grow(capture: str, models: int, versions: int, gpus: tuple[str, ...] = ()) -> str:
    """The capture's per-model lines of `fast` for every model and version, family by family."""
    out: list[str] = []
    for line in capture.splitlines():
        if line.startswith("# ") and not line.startswith(("# HELP", "# TYPE")):
            continue  # the capture's own provenance note
        if 'model="fast"' not in line:
            if "model=" not in line:
                out.append(line)  # HELP/TYPE and server-level samples
            continue
        head, value = line.rsplit(" ", 1)
        for m in range(models):
            for v in range(1, versions + 1):
                relabelled = head.replace('model="fast"', f'model="model-{m:03d}"').replace(
                    'version="1"', f'version="{v}"'
                )
                # Each version its own counts (zeros stay zeros, as idle failure counters do).
                scaled = float(value) * (m + 1) * v + (m if float(value) else 0)
                relabelled += f" {int(scaled) if scaled.is_integer() else scaled!r}"
                if not gpus:
                    out.append(relabelled)
                for gpu in gpus:
                    out.append(relabelled.replace("{", f'{{gpu_uuid="{gpu}",', 1))
    return "\n".join(out) + "\n"


def gpu_families() -> str:
    text = (DATA / "triton_gpu_metrics.txt").read_text()
    keep = re.compile(r"^(# (HELP|TYPE) )?nv_(gpu_|energy_)")
    return "\n".join(line for line in text.splitlines() if keep.match(line)) + "\n"


def timings(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """ms of each run, run in turns so that load from elsewhere hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm up
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    m, v = args.models, args.versions
    payloads = {
        f"CPU server, {m} models x {v} versions": grow((DATA / "triton_cpu_metrics.txt").read_text(), m, v),
        f"GPU server (2 GPUs), summaries on, {m} models x {v} versions": grow(
            (DATA / "triton_cpu_summary_metrics.txt").read_text(), m, v, GPUS
        )
        + gpu_families(),
    }
    print(
        "Median ms over the runs (minimum in brackets; on a shared machine the minimum is the\n"
        "closer estimate of the cost itself). Ratios: the library's over the fast path's.\n\n"
        "| payload | lines | KiB | text_string_to_metric_families | library parse+derive "
        "| fast parse+derive | ratio to the parser alone | ratio to library parse+derive |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for label, text in payloads.items():
        # The scrape before: every counter 10 % lower, so each window has traffic to derive.
        first = parse(text, 0.0)
        lower = {key: value * 0.9 for key, value in first.counters.items()}
        previous = Snapshot(at=0.0, counters=lower, gauges=first.gauges)
        if not exposition.read(text, FAMILIES).fast:
            raise SystemExit(f"{label}: the fast path refused the payload")
        if derive(previous, parse(text, 1.0)) != derive(previous, parse(text, 1.0, fast=False)):
            raise SystemExit(f"{label}: the two paths disagree")

        def run(fast: bool, text: str = text, previous: Snapshot = previous) -> object:
            return derive(previous, parse(text, 1.0, fast=fast))

        def parser_alone(text: str = text) -> object:
            return list(text_string_to_metric_families(text))

        paths = {"parser": parser_alone, "library": lambda: run(False), "fast": lambda: run(True)}
        times = timings(paths, args.runs)
        med = {name: statistics.median(ms) for name, ms in times.items()}
        low = {name: min(ms) for name, ms in times.items()}
        cells = {name: f"{med[name]:.1f} ({low[name]:.1f})" for name in paths}
        ratios = {name: f"{med[name] / med['fast']:.1f}x ({low[name] / low['fast']:.1f}x)" for name in paths}
        print(
            f"| {label} | {text.count(chr(10))} | {len(text) // 1024} | {cells['parser']} "
            f"| {cells['library']} | {cells['fast']} | {ratios['parser']} | {ratios['library']} |"
        )


if __name__ == "__main__":
    main()
