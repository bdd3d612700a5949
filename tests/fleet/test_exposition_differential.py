"""The fast exposition reader against prometheus_client, on real and generated bodies.

Wherever the fast path takes a body, it must give what the library gives: the same
(family, labels, value) for every sample kept and the same family names. Wherever it does
not, the reader must fall back to the library for the whole body and give exactly its
answer (or its refusal).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fleet import exposition
from fleet.derive import FAMILIES
from fleet.exposition import ExpositionError

DATA = Path(__file__).parent.parent / "data"
CAPTURES = sorted(DATA.glob("*.txt"))
SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Every label the generated bodies use: keeping all of them compares whole label sets.
LABELS = ("model", "version", "reason", "gpu_uuid", "quantile", "le", "_tag", "a1")


def outcome(text: str, keep: Mapping[str, Sequence[str]], fast: bool) -> object:
    """What a reader makes of a body, NaN made comparable (NaN != NaN)."""
    try:
        body = exposition.read(text, keep, fast=fast)
    except ExpositionError as exc:
        return ("refused", exc.kind)
    samples = [(key, "NaN" if math.isnan(value) else value) for key, value in body.samples]
    return samples, body.families


def keep_everything(text: str) -> dict[str, tuple[str, ...]]:
    """Every family the library finds in the body, with all of LABELS."""
    try:
        families = exposition.read(text, {}, fast=False).families
    except ExpositionError:
        return {}
    return dict.fromkeys(families, LABELS)


def assert_agrees(text: str) -> bool:
    """The reader agrees with the library on FleetDeck's families and on every family;
    returns whether the fast path took the body."""
    took = None
    for keep in (dict(FAMILIES), keep_everything(text)):
        assert outcome(text, keep, fast=True) == outcome(text, keep, fast=False)
        try:
            took = exposition.read(text, keep).fast
        except ExpositionError:
            took = False
    return bool(took)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_it_reads_captured_triton_expositions_like_the_library(path: Path) -> None:
    text = path.read_text()
    assert assert_agrees(text), "the fast path should take a real Triton exposition"
    kept = exposition.read(text, FAMILIES).samples
    assert kept and {key[0] for key, _ in kept} <= set(FAMILIES)


# ---- generated bodies inside the fast path's subset

_BLANK = st.sampled_from(["", "", "", " ", "\t", "  "])
_NAMES = st.sampled_from(
    [
        "nv_inference_count",
        "nv_inference_request_failure",
        "nv_inference_pending_request_count",
        "nv_gpu_utilization",
        "nv_inference_request_summary_us",
        "nv_energy_consumption",
        "nv_inference_count_total",
        "up",
        "process_cpu_seconds",
        "a:b",
    ]
)
_SUFFIX = st.sampled_from(["", "", "", "_total", "_sum", "_count", "_bucket"])
_TYPE = st.sampled_from(["counter", "gauge", "summary", "histogram", "untyped", "unknown", "info"])
# Label values: pipes, quotes, backslashes, newlines, braces, unicode, spaces, NUL.
_CHARACTERS = [*'ab|"\\\n{},=# \t.-_:é模型🚀', "\x00", "\r", "\u2028"]
_TEXT = st.text(alphabet=st.sampled_from(_CHARACTERS), max_size=12)
_NUMBERS = "0 1 -1 +7 3.25 .5 5. 1e3 -2.5E-3 1e400 -0 NaN nan +Inf -Inf inf Infinity 18446744073709551615"
_VALUE = st.one_of(
    st.sampled_from(_NUMBERS.split()),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@st.composite
def _label_set(draw: st.DrawFn) -> str:
    if draw(st.booleans()):  # Triton's own shape: sorted names, model and version, no blanks
        extra = draw(st.lists(st.sampled_from(["gpu_uuid", "reason"]), unique=True))
        names = sorted(["model", "version", *extra])
        return ",".join(f'{name}="{_escape(draw(_TEXT))}"' for name in names)
    names = draw(st.lists(st.sampled_from(LABELS), unique=draw(st.integers(0, 5)) > 0, max_size=4))
    pairs = []
    for name in names:
        # Mostly escaped text; sometimes escapes the library keeps as they are (\t, \x).
        value = draw(st.sampled_from(["", "", "", "\\t", "\\x", "a\\\\b"])) or _escape(draw(_TEXT))
        pairs.append(f'{draw(_BLANK)}{name}{draw(_BLANK)}={draw(_BLANK)}"{value}"{draw(_BLANK)}')
    trailing = "," + draw(_BLANK) if pairs and draw(st.integers(0, 2)) == 0 else ""
    return ",".join(pairs) + trailing


@st.composite
def _sample_line(draw: st.DrawFn, family: str) -> str:
    name = family + draw(_SUFFIX) if draw(st.integers(0, 5)) else draw(_NAMES)
    labels = "{" + draw(_label_set()) + "}" if draw(st.integers(0, 5)) else ""
    gap = draw(_BLANK) if labels else draw(st.sampled_from([" ", "\t", "  ", " \t"]))
    timestamp = draw(st.sampled_from(["", "", " 1700000000000", "\t-5", " 1.5e12"]))
    return f"{draw(_BLANK)}{name}{labels}{gap}{draw(_VALUE)}{timestamp}{draw(_BLANK)}"


_OTHER_LINES = st.lists(st.sampled_from(["", "# a comment", "#", "#no space", "  # indented"]), max_size=2)


@st.composite
def _block(draw: st.DrawFn, family: str) -> list[str]:
    lines = []
    if draw(st.booleans()):
        doc = draw(st.text(alphabet=st.sampled_from(list('ab "\\|{}é')), max_size=20))
        lines.append(f"# HELP {family} {doc}".rstrip())
    if draw(st.booleans()):
        lines.append(f"#{draw(st.sampled_from([' ', '  ', chr(9)]))}TYPE {family} {draw(_TYPE)}")
    lines += [draw(_sample_line(family)) for _ in range(draw(st.integers(0, 4)))]
    return lines + draw(_OTHER_LINES)


@st.composite
def tidy_bodies(draw: st.DrawFn) -> str:
    # One block per family, as exporters write them (a TYPE after the family's samples is a
    # corner the fast path leaves to the library; damaged bodies reach it).
    families = draw(st.lists(_NAMES, min_size=1, max_size=5, unique=True))
    lines = [line for family in families for line in draw(_block(family))]
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


@SETTINGS
@given(tidy_bodies())
@example('nv_inference_count{model="a|b",version="1|2"} NaN\nnv_inference_count{model="a",version="b|1"} 1\n')
@example('# TYPE nv_inference_count_total counter\nnv_inference_count_total{model="q\\"u\\\\o\\nte"} +Inf\n')
@example("# TYPE nv_inference_count summary\nnv_inference_count_sum 1\nnv_inference_count_count 2 17\n")
def test_it_agrees_with_the_library_on_generated_bodies(text: str) -> None:
    assert_agrees(text)


@SETTINGS
@given(tidy_bodies())
def test_it_takes_tidy_bodies_on_the_fast_path(text: str) -> None:
    # Inside the subset by construction; a body the library refuses (a duplicate label
    # name) is refused through the library.
    try:
        exposition.read(text, FAMILIES, fast=False)
    except ExpositionError:
        return
    assert exposition.read(text, FAMILIES).fast


# ---- bodies outside the subset: the whole body goes to the library


@st.composite
def damaged_bodies(draw: st.DrawFn) -> str:
    text = draw(tidy_bodies())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        damage = draw(
            st.sampled_from(['"', "\\", "{", "}", ",", "=", " ", "#", "_", ":", "\r", "\x0b", "\xa0", "x"])
        )
        text = text[:at] + damage + text[at + draw(st.integers(0, 1)) :]
    return text


@SETTINGS
@given(damaged_bodies())
@example('nv_inference_count{model="m",version="1"} 1_000\n')
@example("# HELP nv_inference_count x\nnv_inference_count 1\n# TYPE nv_inference_count summary\n")
def test_it_agrees_with_the_library_on_damaged_bodies(text: str) -> None:
    assert_agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        'nv_inference_count {model="m",version="1"} 1\n',  # a blank before the labels
        'nv_inference_count{,model="m",version="1"} 1\n',  # a leading comma
        '{"nv_inference_count",model="m",version="1"} 1\n',  # the UTF-8 syntax: a quoted name
        'nv_inference_count{"model"="m",version="1"} 1\n',  # a quoted label name
        'nv_inference_count{a:b="x",model="m"} 1\n',  # a colon in a label name
        'nv_inference_count{model="m",version="1"} 1 # {trace_id="t"} 1\n',  # an exemplar
        'nv_inference_count{model="m",version="1"} 1 2 3\n',  # more than a timestamp
        'nv_inference_count{model="m",version="1"} 1\r\n',  # a carriage return
        'nv_inference_count{model="m",version="1"}\xa01\n',  # Unicode whitespace
        'nv_inference_count{model="m",version="1"} 1_000\n',  # refused by the library too
        'nv_inference_count{model="m",model="n"} 1\n',  # refused by the library too
        'nv_inference_count{__reserved="m"} 1\n',  # refused by the library too
        "# TYPE nv_inference_count\nnv_inference_count 1\n",  # TYPE without a type
        "# TYPE nv_inference_count histogram_x\nnv_inference_count 1\n",  # unknown type
        '# HELP nv_inference_count x\nnv_inference_count{model="m"} 1\n# TYPE nv_inference_count counter\n',
        "this is { not prometheus",
    ],
)
def test_it_falls_back_to_the_library_outside_its_subset(text: str) -> None:
    for keep in (dict(FAMILIES), keep_everything(text)):
        assert outcome(text, keep, fast=True) == outcome(text, keep, fast=False)
        with contextlib.suppress(ExpositionError):  # the library refused it: so does the reader
            assert not exposition.read(text, keep).fast
