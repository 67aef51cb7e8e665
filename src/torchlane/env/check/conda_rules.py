"""Rules for conda environment files: builds that do not exist and Pythons torch does not support."""

from __future__ import annotations

from pathlib import Path

from torchlane.env.check.findings import Finding
from torchlane.env.check.requirements import parse_requirement
from torchlane.env.matrix import Matrix, version_key


def conda_findings(
    root: Path, path: str, matrix: Matrix, project_torch: str | None
) -> list[Finding]:
    from torchlane.env.check.yamlfiles import conda_env, conda_spec

    try:
        env = conda_env((root / path).read_text(encoding="utf-8", errors="replace"))
    except ValueError as exc:
        return [
            Finding(
                severity="error",
                rule="yaml-invalid",
                file=path,
                line=0,
                message=f"{path} is not valid YAML: {exc}.",
                fix="Fix the syntax.",
            )
        ]
    specs = {conda_spec(d.value)[0]: (d, conda_spec(d.value)[1]) for d in env.dependencies}
    findings: list[Finding] = []
    torch = specs["pytorch"][1] if "pytorch" in specs else None
    if "pytorch" in specs and torch is None:
        findings.append(
            Finding(
                severity="warning",
                rule="conda-unpinned",
                file=path,
                line=specs["pytorch"][0].line,
                message=f"'{specs['pytorch'][0].value}' does not pin a pytorch version.",
                fix="Pin it, e.g. pytorch=2.5.1.",
            )
        )
    torch = torch or project_torch
    release = matrix.release(torch) if torch else None
    if "pytorch-cuda" in specs:
        located, cuda = specs["pytorch-cuda"]
        if torch is None:
            findings.append(
                Finding(
                    severity="warning",
                    rule="conda-pytorch-cuda",
                    file=path,
                    line=located.line,
                    message="pytorch-cuda builds exist only for torch 1.13..2.5, and no pytorch version is pinned here.",
                    fix="Pin pytorch (<= 2.5), or install torch with pip from download.pytorch.org/whl/cuXYZ.",
                )
            )
        elif version_key(torch)[:2] < (1, 13):
            findings.append(
                Finding(
                    severity="error",
                    rule="conda-pytorch-cuda",
                    file=path,
                    line=located.line,
                    message=f"'{located.value}' cannot be installed with torch {torch}: the "
                    "pytorch-cuda package exists only from torch 1.13 (older builds used cudatoolkit).",
                    fix=f"Use cudatoolkit=X.Y with pytorch {torch}, or pytorch >= 1.13 with pytorch-cuda.",
                )
            )
        elif version_key(torch)[:2] > (2, 5):
            findings.append(
                Finding(
                    severity="error",
                    rule="conda-pytorch-cuda",
                    file=path,
                    line=located.line,
                    message=f"'{located.value}' cannot be installed with torch {torch}: conda pytorch-cuda builds stopped after torch 2.5.",
                    fix="Drop pytorch-cuda and install torch with pip from https://download.pytorch.org/whl/cuXYZ (pip: section), or use conda-forge's pytorch.",
                )
            )
        elif release is not None and cuda is not None and cuda not in release.conda_pytorch_cuda:
            valid = ", ".join(release.conda_pytorch_cuda)
            findings.append(
                Finding(
                    severity="error",
                    rule="conda-pytorch-cuda",
                    file=path,
                    line=located.line,
                    message=f"torch {torch} has no pytorch-cuda={cuda} build (available: {valid}).",
                    fix=f"Use pytorch-cuda={release.conda_pytorch_cuda[-1]}.",
                )
            )
    if "python" in specs and specs["python"][1] and release is not None:
        located, python = specs["python"]
        assert python is not None
        if not release.supports_python(python):
            low, high = release.python_range
            findings.append(
                Finding(
                    severity="error",
                    rule="python-out-of-range",
                    file=path,
                    line=located.line,
                    message=f"python={python} is outside what torch {torch} supports ({low}..{high}).",
                    fix=f"Use python={high}.",
                )
            )
    for item in env.pip:
        req = parse_requirement(item.line, item.value)
        if req.name is not None and not req.pinned:
            findings.append(
                Finding(
                    severity="warning",
                    rule="requirement-unpinned",
                    file=path,
                    line=item.line,
                    message=f"pip dependency '{req.text}' is not pinned exactly.",
                    fix="Pin it (name==version).",
                )
            )
    return findings
