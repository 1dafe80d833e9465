"""tools/claims.py reads back what myst_nb.glue stored in an executed notebook (no long runs)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from IPython.display import Markdown

ROOT = Path(__file__).resolve().parents[2]


def _load_tool():
    spec = importlib.util.spec_from_file_location("claims_tool", ROOT / "tools" / "claims.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module                 # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


claims = _load_tool()


def _glue_outputs(monkeypatch, calls):
    """The outputs myst_nb.glue would write for ``calls`` [(name, value, display)], captured
    from the real glue() with IPython's display replaced by a recorder (no kernel needed)."""
    from myst_nb.ext import glue as glue_module

    outputs = []

    def record(bundle, raw, metadata):
        outputs.append(nbformat.v4.new_output("display_data", data=bundle, metadata=metadata))

    monkeypatch.setattr(glue_module, "ipy_display", record)
    for name, value, display in calls:
        glue_module.glue(name, value, display=display)
    return outputs


def test_extract_glue_reads_every_kind_of_glued_value(monkeypatch):
    glued = _glue_outputs(monkeypatch, [
        ("acc", np.float64(0.953), False),
        ("T", 120, False),
        ("winner", "GRU", False),
        ("verdict", Markdown("the LSTM **wins**"), False),
        ("shown", 0.25, True),                       # glued with display=True: no prefix
    ])
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("The LSTM scores {glue:text}`acc:.0%`."),
        nbformat.v4.new_code_cell("glue(...)", outputs=glued[:3]),
        nbformat.v4.new_code_cell("print('hi')", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="hi\n")]),
        nbformat.v4.new_code_cell("glue(...)", outputs=glued[3:]),
    ])
    as_json = json.loads(nbformat.writes(notebook))     # what the tool reads from disk

    values = claims.extract_glue(as_json)

    assert values == {"acc": pytest.approx(0.953), "T": 120, "winner": "GRU",
                      "verdict": "the LSTM **wins**", "shown": 0.25}
    assert list(values) == ["acc", "T", "winner", "verdict", "shown"]


def test_extract_glue_skips_figures_and_keeps_the_last_of_a_repeated_name(monkeypatch):
    figure = nbformat.v4.new_output(
        "display_data", data={claims.GLUE_PREFIX + "image/png": "iVBORw0KGgo="},
        metadata={"scrapbook": {"name": "fig", "mime_prefix": claims.GLUE_PREFIX}})
    first, second = _glue_outputs(monkeypatch, [("x", 1.0, False), ("x", 2.0, False)])
    notebook = {"cells": [{"cell_type": "code", "outputs": [figure, first]},
                          {"cell_type": "markdown", "source": "x"},
                          {"cell_type": "code", "outputs": [second]}]}
    assert claims.extract_glue(notebook) == {"x": 2.0}


def test_table_has_a_row_per_name_and_a_column_per_seed():
    runs = [claims.Run(Path("book/02_x.ipynb"), seed, returncode=0, wall_s=10.0, cpu_s=9.0,
                       glued=glued)
            for seed, glued in ((1, {"acc": 0.96, "word": "wins"}), (0, {"acc": 0.951234}))]
    text = claims.table(runs)
    lines = text.splitlines()
    assert lines[0] == "| glued name | seed 0 | seed 1 |"
    assert "| acc | 0.9512 | 0.96 |" in lines
    assert "| word | - | wins |" in lines
    assert "| (run status) | ok | ok |" in lines


def test_chapters_resolve_to_the_book_notebooks():
    paths = claims.resolve_chapters(["1", "2", "4", "6"])
    assert [p.name[:3] for p in paths] == ["01_", "02_", "04_", "06_"]
    with pytest.raises(SystemExit):
        claims.resolve_chapters(["99"])
