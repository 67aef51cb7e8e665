"""Notebooks are scanned by their parsed cells, sources and outputs, with cell numbers."""

from __future__ import annotations

import json
import random

import nbformat

from torchlane.secrets.scan import ScanSettings, Skipped, scan_content, scan_text

SETTINGS = ScanSettings()
GENERIC = "Zx9Qw3Er7Ty1Ui5Op2"  # torchlane: allow-secret
HF = "hf_" + "QmZxWvUtSrQpOnMlKjIhGfEdCbAzYxWvUt"


def notebook_text() -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Training"),
        nbformat.v4.new_code_cell(f'import os\napi_token = "{GENERIC}"\nprint(api_token)'),
        nbformat.v4.new_code_cell(
            "!env | grep HF",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text=f"HF_TOKEN={HF}\n")],
        ),
    ]
    nbformat.validate(nb)
    return nbformat.writes(nb)


def test_a_secret_in_escaped_notebook_json_is_found_in_its_cell() -> None:
    text = notebook_text()
    # In the file the quotes are escaped (`\"`), which is why detect-secrets and gitleaks miss
    # this secret (detect-secrets#781). The raw text scan reads escaped quotes too, but only the
    # parsed notebook can say which cell, and which line in it, holds the secret.
    assert '\\"' + GENERIC + '\\"' in text
    raw = [(f.rule, f.cell) for f in scan_text(text, "train.ipynb", SETTINGS)]
    assert ("generic-secret", None) in raw
    findings = scan_content("train.ipynb", text.encode(), SETTINGS)
    assert isinstance(findings, list)
    located = [(f.rule, f.cell, f.part, f.line) for f in findings]
    assert ("generic-secret", 2, "source", 2) in located
    assert ("huggingface-token", 3, "output 1", 1) in located
    assert "train.ipynb: cell 2 source, line 2:14" in {f.location for f in findings}


def test_allow_pragma_works_inside_a_cell() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f'token = "{GENERIC}"  # torchlane: allow-secret')]
    assert scan_content("a.ipynb", nbformat.writes(nb).encode(), SETTINGS) == []


def test_a_notebook_that_is_not_json_is_scanned_as_text() -> None:
    findings = scan_content("broken.ipynb", f'{{"cells": [ token = "{GENERIC}"'.encode(), SETTINGS)
    assert isinstance(findings, list)
    assert [f.cell for f in findings] == [None]


def test_outputs_with_rich_data_are_scanned() -> None:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "source": [],
                "outputs": [
                    {"output_type": "execute_result", "data": {"text/plain": [f"'{HF}'"]}},
                    {"output_type": "error", "evalue": "x", "traceback": [f"token {HF}"]},
                ],
            }
        ]
    }
    findings = scan_content("a.ipynb", json.dumps(nb).encode(), SETTINGS)
    assert isinstance(findings, list)
    assert [f.part for f in findings] == ["output 1", "output 2"]


def test_binary_and_excluded_files_are_skipped() -> None:
    packed = random.Random(0).randbytes(4096)
    assert scan_content("model.pt", packed + HF.encode(), SETTINGS) == Skipped(
        path="model.pt", reason="binary"
    )
    settings = ScanSettings(exclude=("fixtures/*",))
    assert scan_content("fixtures/keys.txt", HF.encode(), settings) == Skipped(
        path="fixtures/keys.txt", reason="excluded"
    )
    assert scan_content("src/keys.txt", HF.encode(), settings)
