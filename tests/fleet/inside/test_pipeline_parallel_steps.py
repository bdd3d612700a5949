"""A parallel ensemble (one input feeding two steps whose outputs a third step joins) reads
as a DAG: every tensor an edge, from the step that writes it to each step that reads it."""

from __future__ import annotations

from fleet.inside.pipeline import graph

DIAMOND = {
    "input": [{"name": "IMAGE"}],
    "output": [{"name": "LABEL"}, {"name": "BOXES"}],
    "ensemble_scheduling": {
        "step": [
            {
                "model_name": "resize",
                "model_version": -1,
                "input_map": {"IN": "IMAGE"},
                "output_map": {"OUT": "small"},
            },
            {
                "model_name": "classify",
                "model_version": 2,
                "input_map": {"X": "small"},
                "output_map": {"Y": "logits"},
            },
            {
                "model_name": "detect",
                "model_version": -1,
                "input_map": {"X": "small"},
                "output_map": {"B": "BOXES"},
            },
            {
                "model_name": "label",
                "model_version": -1,
                "input_map": {"L": "logits", "B": "BOXES"},
                "output_map": {"T": "LABEL"},
            },
        ]
    },
}


def test_it_links_each_tensor_from_its_writer_to_every_reader() -> None:
    inputs, outputs, steps, edges = graph(DIAMOND)

    assert inputs == ["IMAGE"] and outputs == ["LABEL", "BOXES"]
    assert [(s["model"], s["version"]) for s in steps] == [
        ("resize", -1),
        ("classify", 2),
        ("detect", -1),
        ("label", -1),
    ]
    assert {(e["source"], e["target"], e["tensor"]) for e in edges} == {
        ("input:IMAGE", "step:0", "IMAGE"),
        ("step:0", "step:1", "small"),
        ("step:0", "step:2", "small"),
        ("step:1", "step:3", "logits"),
        ("step:2", "step:3", "BOXES"),
        ("step:3", "output:LABEL", "LABEL"),
        ("step:2", "output:BOXES", "BOXES"),
    }
    assert len(edges) == 7


def test_it_has_no_steps_for_a_config_without_ensemble_scheduling() -> None:
    assert graph({"input": [{"name": "A"}], "output": [{"name": "B"}]})[2:] == ([], [])
