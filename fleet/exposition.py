"""Read Prometheus text exposition 0.0.4 as Triton prints it: a fast path, and the library.

Why hand-written, against the project's rule of preferring a library: `prometheus_client`'s
parser walks every line character by character in Python (`_next_unquoted_char`), about
13 µs a line here. A Triton server with 600 model versions exports ~8,000 lines, and parse
and derive took 242 ms of worker time per scrape with it (docs/benchmarks.md, "Scrape cost"),
a quarter of a core per server at a 1 s interval. With the fast path below, parse and
derive of a 200-version Triton body take about 7 ms instead of 39 ms, 5.6-5.7x (4.9-5.1x
against the library's parser call alone; bench/parse.py, docs/benchmarks.md "Exposition
parser"). It
matches every line in one pass of one compiled pattern, which captures Triton's own label
sets (sorted, no escapes) label by label; any other label set is parsed once per body, and
only for families the caller keeps (or to refuse a repeated name, as the library does).

The caller names the families it keeps and, for each, the labels it keeps; a sample comes
back as (family, those labels' values, value). The fast path accepts only a strict subset
of the format, on which it gives exactly what `text_string_to_metric_families` gives
(tests/fleet/test_exposition_differential.py holds it to that): HELP and TYPE
comments with plain names, other comments, blank lines, and samples
`name{label="value",...} value [timestamp]` with legacy names, escaped label values
(\\\\, \\", \\n), NaN, ±Inf and timestamps. Any line outside that subset, and the few
family-bookkeeping corners the library treats specially, send the whole body to the
library: slower, never different.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter

from prometheus_client.parser import text_string_to_metric_families

# ((family, *the kept labels' values), value). The family's name is the library's: a counter
# `x_total` is family `x`; a summary's `_sum` and `_count` samples belong to the summary. An
# absent label reads "".
Sample = tuple[tuple[str, ...], float]


class ExpositionError(ValueError):
    """The body is not Prometheus text the library accepts.

    `kind` names the library's exception; its message, which quotes the body, stays in
    `__cause__` (a metrics endpoint's text is not ours to show viewers)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Exposition:
    samples: list[Sample]  # of the kept families only, in body order; values may be NaN/±Inf
    families: frozenset[str]  # the name of every family in the body, kept or not
    fast: bool  # read by the fast path (False: by prometheus_client)


def read(text: str, keep: Mapping[str, Sequence[str]], *, fast: bool = True) -> Exposition:
    """The samples of the families in `keep` (family -> the label names to keep); raises
    ExpositionError for a bad body. `fast=False` skips the fast path (the reference for
    tests and benchmarks)."""
    return (fast and _read_fast(text, keep)) or _read_library(text, keep)


def _read_library(text: str, keep: Mapping[str, Sequence[str]]) -> Exposition:
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as exc:  # the parser raises ValueError, IndexError, KeyError...
        raise ExpositionError(type(exc).__name__) from exc
    return Exposition(
        samples=[
            ((f.name, *(s.labels.get(label, "") for label in keep[f.name])), float(s.value))
            for f in families
            if f.name in keep
            for s in f.samples
        ],
        families=frozenset(f.name for f in families),
        fast=False,
    )


_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
# Label names the library takes unquoted and unreserved (no leading "__").
_LABEL_NAME = r"(?:[a-zA-Z]|_(?!_))[a-zA-Z0-9_]*"
# "Unrolled" (no alternation per character): several times faster in Python's re.
_LABEL_VALUE = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?(?i:nan|inf|infinity)"
# Triton's own label sets, captured label by label so that most lines need no label parse:
# sorted names, no escapes. Group order (after the comment and name groups) is _CANONICAL.
_PLAIN = r'"([^"\\]*)"'
_CANONICAL = ("gpu_uuid", "model", "reason", "version")
_TRITON_SET = rf"\{{(?:gpu_uuid={_PLAIN},)?model={_PLAIN},(?:reason={_PLAIN},)?version={_PLAIN}\}}"
# Any other label set, as one group for _labels (the trailing comma is allowed).
_PAIR = rf"[ \t]*{_LABEL_NAME}[ \t]*=[ \t]*{_LABEL_VALUE}[ \t]*"
_LABEL_SET = rf"(?:{_PAIR}(?:,{_PAIR})*(?:,[ \t]*)?)?"
_SAMPLE = (
    rf"({_NAME})(?:{_TRITON_SET}[ \t]*|\{{({_LABEL_SET})\}}[ \t]*|[ \t]+)({_NUMBER})(?:[ \t]+(?:{_NUMBER}))?"
)
# Every line: (comment, name, gpu_uuid, model, reason, version, other labels, value); a
# blank line is all empty. Surrounding spaces and tabs only: the library strips any
# whitespace, which then sends a body to it.
_LINES = re.compile(rf"^[ \t]*(?:(#[^\n]*?)|{_SAMPLE})?[ \t]*$", re.MULTILINE).findall
# The same for Triton's own spacing (none in label sets, one space before the value): a
# quarter cheaper, so it is tried first.
_TIGHT_PAIR = rf"{_LABEL_NAME}={_LABEL_VALUE}"
_TIGHT_SET = rf"(?:{_TIGHT_PAIR}(?:,{_TIGHT_PAIR})*,?)?"
_TIGHT_SAMPLE = rf"({_NAME})(?:{_TRITON_SET}|\{{({_TIGHT_SET})\}})? ({_NUMBER})(?: (?:{_NUMBER}))?"
_TIGHT_LINES = re.compile(rf"^(?:(#[^\n]*?)[ \t]*|{_TIGHT_SAMPLE})?$", re.MULTILINE).findall
# On a label set _SAMPLE accepted, this yields exactly its pairs.
_PAIRS = re.compile(rf'[ \t]*({_LABEL_NAME})[ \t]*=[ \t]*"([^"\\]*(?:\\.[^"\\]*)*)"[ \t]*,?').findall
_ESCAPES = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}
_escape = re.compile(r'\\[\\n"]')
# The library's comment tokenizer splits on string.whitespace, not str.split's Unicode set.
_split_comment = re.compile(r"[ \t\n\r\x0b\x0c]+").split
_METRIC_NAME = re.compile(_NAME).fullmatch
# Sample names a family of each TYPE takes (prometheus_client.parser's `allowed_names`).
_SUFFIXES = {"summary": ("_count", "_sum", ""), "histogram": ("_count", "_sum", "_bucket")}
_TYPES = frozenset(
    {"counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info", "stateset", "untyped"}
)


def _unescape(value: str) -> str:
    return _escape.sub(lambda m: _ESCAPES[m.group(0)], value)


def _labels(text: str) -> dict[str, str] | None:
    """A label set _SAMPLE accepted, as a dict keyed ",name="; None if a name repeats.

    Without escapes or blanks, every quote delimits a value: split at quotes, the parts
    alternate ",name=" and value, and C builds the dict."""
    if "\\" in text or " " in text or "\t" in text:
        pairs = _PAIRS(text)
        labels = {f",{name}=": _unescape(value) if "\\" in value else value for name, value in pairs}
        return labels if len(labels) == len(pairs) else None
    parts = ("," + text).split('"')
    pairs_of = iter(parts)
    labels = dict(zip(pairs_of, pairs_of, strict=False))  # drops the tail after the last value
    return labels if len(labels) == len(parts) >> 1 else None


def _picker(names: Sequence[str]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """(sample name, *the kept labels) off a row, in C."""
    at = [2 + _CANONICAL.index(name) if name in _CANONICAL else 0 for name in names]
    return itemgetter(1, *at) if at else lambda row: (row[1],)


def _read_fast(text: str, keep: Mapping[str, Sequence[str]]) -> Exposition | None:
    """The fast path; None where the body leaves its subset."""
    # One C-level pass matches every line; a line outside the subset matches nothing, so
    # fewer rows than lines means "not ours" (lines are split at \n only, as the library does).
    lines = text.count("\n") + 1
    rows = _TIGHT_LINES(text)
    if len(rows) != lines:
        rows = _LINES(text)
        if len(rows) != lines:
            return None
    # A row whose labels _TRITON_SET matched is read by index (0: the comment group, empty
    # on a sample row, for a kept label Triton's sets lack); the key starts with the sample's
    # name, which is its family's but for a few (a summary's x_sum, a counter's x_total).
    picks = {family: _picker(names) for family, names in keep.items()}
    # Other label sets: Triton repeats each in every family (model="m",version="1" ten
    # times), so each is parsed once, and projected once per set of kept label names.
    parsed: dict[str, dict[str, str]] = {}
    wanted = {family: tuple(f",{name}=" for name in names) for family, names in keep.items()}
    projections: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
    projected = {family: projections.setdefault(names, {}) for family, names in wanted.items()}
    blanks = {family: ("",) * len(names) for family, names in wanted.items()}
    samples: list[Sample] = []
    # Family names as the library will yield them; the last one is the open family while
    # `current` (the name of the last HELP/TYPE) is set.
    families: list[str] = []
    current, members, has_samples = "", frozenset[str](), False
    for row in rows:
        comment, name, _, _, _, _, label_text, value = row
        if name:
            if name in members:
                owner = families[-1]
                has_samples = True
            else:  # the library yields it as a family of its own and forgets the HELP/TYPE
                owner = name
                families.append(name)
                current, members, has_samples = "", frozenset(), False
            pick = picks.get(owner)
            if pick is not None:  # a family the caller keeps
                if not label_text:  # Triton's label set, or none
                    key = pick(row)
                    samples.append(((owner, *key[1:]) if owner != name else key, float(value)))
                    continue
                cache = projected[owner]
                values = cache.get(label_text)
                if values is None:
                    labels = parsed.get(label_text)
                    if labels is None:
                        labels = _labels(label_text)
                        if labels is None:
                            return None  # a repeated label name: the library refuses the body
                        parsed[label_text] = labels
                    values = cache[label_text] = tuple(map(labels.get, wanted[owner], blanks[owner]))
                samples.append(((owner, *values), float(value)))
            elif label_text.count("=") > 1 and label_text not in parsed:
                labels = _labels(label_text)
                if labels is None:
                    return None
                parsed[label_text] = labels
            continue
        if not comment:
            continue  # a blank line
        parts = _split_comment(comment, maxsplit=3)
        if len(parts) < 2 or parts[1] not in ("HELP", "TYPE"):
            continue  # a plain comment, which the library ignores too
        # A quote before the name would make the library tokenize differently.
        if len(parts) < 3 or '"' in "".join(parts[:3]) or not _METRIC_NAME(parts[2]):
            return None
        name = parts[2]
        if parts[1] == "HELP":
            if name != current:
                current, members, has_samples = name, frozenset((name,)), False
                families.append(name)
            continue
        kind = parts[3] if len(parts) == 4 else ""
        if kind not in _TYPES or (name == current and has_samples):
            return None  # a bad type, or a type changed under samples already read
        family = name[:-6] if kind == "counter" and name.endswith("_total") else name
        if not family:
            return None
        if name == current:
            families[-1] = family
        else:
            current, has_samples = name, False
            families.append(family)
        members = frozenset(name + suffix for suffix in _SUFFIXES.get(kind, ("",)))
    return Exposition(samples=samples, families=frozenset(families), fast=True)
