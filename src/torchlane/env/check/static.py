"""`torchlane env check`: read every environment file and report what cannot work or is not pinned.

Static: no torch import, no network. Each file kind has its rules module; this module runs them and
adds the cross-file rules (torch and Python must agree between declaration, images and pins).
"""

from __future__ import annotations

from pathlib import Path

from torchlane.env.check.declaration import Declaration, load_declaration
from torchlane.env.check.dockerfile import from_lines
from torchlane.env.check.findings import CheckReport, Finding
from torchlane.env.check.image_rules import ImageFacts, check_image
from torchlane.env.check.requirement_rules import (
    ParsedRequirements,
    TorchPin,
    build_findings,
    index_findings,
    pin_findings,
    read_requirements,
    stale_findings,
    torch_pins,
)
from torchlane.env.files import discover
from torchlane.env.matrix import Matrix, load_matrix, minor_of, version_key


def _declaration_findings(matrix: Matrix, decl: Declaration) -> list[Finding]:
    findings: list[Finding] = []
    file = decl.path
    if decl.torch is None:
        return findings
    release = matrix.release(decl.torch)
    if release is None:
        if matrix.is_newer_than_data(decl.torch):
            findings.append(
                Finding(
                    severity="warning",
                    rule="torch-newer-than-data",
                    file=file,
                    line=decl.line_of("torch"),
                    message=matrix.newer_than_data_message(decl.torch) + ".",
                    fix="Checks that need the release's data are skipped until then.",
                )
            )
        elif matrix.release(decl.torch) is None and minor_of(decl.torch) is not None:
            findings.append(
                Finding(
                    severity="warning",
                    rule="torch-older-than-data",
                    file=file,
                    line=decl.line_of("torch"),
                    message=f"torch {decl.torch} is older than torchlane's compatibility data (from {matrix.oldest.minor}).",
                    fix="Move to a supported release; until then its builds are not checked.",
                )
            )
        else:
            findings.append(
                Finding(
                    severity="error",
                    rule="torch-unknown",
                    file=file,
                    line=decl.line_of("torch"),
                    message=f"torch '{decl.torch}' is not a release version.",
                    fix=f'Declare an exact release, e.g. torch = "{matrix.newest.latest_patch}".',
                )
            )
        return findings
    if decl.torch.count(".") == 2 and decl.torch not in release.patches:
        findings.append(
            Finding(
                severity="warning",
                rule="torch-patch-not-in-data",
                file=file,
                line=decl.line_of("torch"),
                message=f"torch {decl.torch} is not in torchlane's data (known: {', '.join(release.patches)}).",
                fix="If it was released after the data was collected, update torchlane; otherwise fix the version.",
            )
        )
    if not release.supports_python(decl.python):
        low, high = release.python_range
        findings.append(
            Finding(
                severity="error",
                rule="python-out-of-range",
                file=file,
                line=decl.line_of("python"),
                message=f"torch {decl.torch} supports Python {low}..{high}, not {decl.python}.",
                fix=f"Declare python between {low} and {high}.",
            )
        )
    if decl.cuda and decl.cuda not in release.cuda_builds:
        closest = release.closest_cuda(decl.cuda)
        findings.append(
            Finding(
                severity="error",
                rule="cuda-not-built",
                file=file,
                line=decl.line_of("accelerator"),
                message=f"torch {decl.torch} was not built for CUDA {decl.cuda} (builds: {', '.join(release.cuda_builds)}).",
                fix=f'Declare accelerator = "cuda{closest[0]}".',
            )
        )
    return findings


def _python_findings(
    matrix: Matrix, torch: str | None, python: str, where: tuple[str, int], source: str
) -> list[Finding]:
    release = matrix.release(torch) if torch else None
    if release is None or release.supports_python(python):
        return []
    low, high = release.python_range
    return [
        Finding(
            severity="error",
            rule="python-out-of-range",
            file=where[0],
            line=where[1],
            message=f"{source} gives Python {python}, but torch {torch} supports {low}..{high}.",
            fix=f"Use Python {high if version_key(python) > version_key(high) else low}.",
        )
    ]


def _agree(a: str, b: str) -> bool:
    """'2.9' agrees with '2.9.0' and '2.9.1'; '2.9.0' only with '2.9.0'."""
    ka, kb = version_key(a), version_key(b)
    n = min(len(ka), len(kb))
    return ka[:n] == kb[:n]


class _Run:
    def __init__(self, root: Path, matrix: Matrix, decl: Declaration | None):
        self.root, self.matrix, self.decl = root, matrix, decl
        self.findings: list[Finding] = []
        self.pins: list[TorchPin] = []
        self.images: list[tuple[str, int, ImageFacts]] = []
        self.lock_inputs: set[str] = set()

    def image(self, text: str, file: str, line: int) -> None:
        findings, facts = check_image(self.matrix, text, file, line)
        self.findings += findings
        self.images.append((file, line, facts))

    def dockerfile(self, path: str) -> None:
        for entry in from_lines((self.root / path).read_text(encoding="utf-8", errors="replace")):
            if not entry.stage_ref:
                self.image(entry.image, path, entry.line)

    def requirements(self, paths: list[str]) -> None:
        lock_names = {self.decl.lock} if self.decl else {"requirements.lock"}
        entries: list[ParsedRequirements] = [
            read_requirements(self.root, p, lock_names) for p in paths
        ]
        declared_inputs = self.decl.requirements if self.decl else ()
        inputs = set(declared_inputs)
        for entry in entries:
            inputs.update(entry.inputs)
        self.lock_inputs = inputs
        for entry in entries:
            self.findings += pin_findings(entry, entry.path in inputs)
            is_declared_lock = self.decl is not None and entry.path == self.decl.lock
            self.findings += stale_findings(
                self.root, entry, declared_inputs if is_declared_lock else ()
            )
            pins = torch_pins(entry)
            self.findings += build_findings(self.matrix, entry, pins)
            self.findings += index_findings(entry, entry.path in inputs)
            self.pins += pins

    def pyproject(self) -> bool:
        """Torch pins and uv indexes of pyproject.toml; True when it has any."""
        from torchlane.env.check.memo import remember
        from torchlane.env.check.pyproject_deps import from_entries, pyproject_entries

        path = self.root / "pyproject.toml"
        if not path.is_file():
            return False
        text = path.read_text(encoding="utf-8", errors="replace")
        parsed = from_entries(remember(path, "pyproject-deps", lambda: pyproject_entries(text)))
        entry = ParsedRequirements(
            path="pyproject.toml", text=text, parsed=parsed, is_lock=False, inputs=()
        )
        pins = torch_pins(entry)
        self.findings += build_findings(self.matrix, entry, pins)
        self.pins += pins
        return bool(pins or parsed.options)

    def compose(self, path: str) -> None:
        from torchlane.env.check.dockerfile import substitute
        from torchlane.env.check.memo import remember
        from torchlane.env.check.yamlfiles import compose_images

        file = self.root / path
        images = remember(
            file,
            "compose",
            lambda: compose_images(file.read_text(encoding="utf-8", errors="replace")),
        )
        if isinstance(images, str):
            message = f"{path} is not valid YAML: {images}."
            self.findings.append(
                Finding(
                    severity="error",
                    rule="yaml-invalid",
                    file=path,
                    line=0,
                    message=message,
                    fix="Fix the syntax.",
                )
            )
            return
        for line, value in images:
            image, _ = substitute(value, {})
            self.image(image, path, line)

    def conda(self, path: str, project_torch: str | None) -> None:
        from torchlane.env.check.conda_rules import conda_findings

        self.findings += conda_findings(self.root, path, self.matrix, project_torch)

    def project_torch(self) -> str | None:
        if self.decl and self.decl.torch:
            return self.decl.torch
        return self.pins[0].version if self.pins else None

    def cross_file(self) -> None:
        decl = self.decl
        torch = self.project_torch()
        for file, line, facts in self.images:
            if facts.python:
                self.findings += _python_findings(
                    self.matrix,
                    torch,
                    facts.python,
                    (file, line),
                    f"the base image (python:{facts.python})",
                )
                if decl and minor_of(decl.python) != minor_of(facts.python):
                    self.findings.append(
                        Finding(
                            severity="warning",
                            rule="python-disagrees",
                            file=file,
                            line=line,
                            message=f"the base image has Python {facts.python}; the declaration says {decl.python}.",
                            fix=f"Use python:{decl.python} or change the declaration.",
                        )
                    )
            if facts.torch and decl and decl.torch and not _agree(decl.torch, facts.torch):
                self.findings.append(
                    Finding(
                        severity="error",
                        rule="torch-disagrees",
                        file=file,
                        line=line,
                        message=f"the image ships torch {facts.torch}; the declaration says {decl.torch}.",
                        fix="Make them agree (`torchlane env generate` derives the image from the declaration).",
                    )
                )
            for pin in self.pins:
                if facts.torch and not _agree(pin.version, facts.torch):
                    self.findings.append(
                        Finding(
                            severity="error",
                            rule="torch-disagrees",
                            file=pin.file,
                            line=pin.line,
                            message=f"{pin.file} pins torch {pin.version}, but {file}:{line} uses an image with torch {facts.torch}.",
                            fix=f"Pin torch=={facts.torch} or change the image.",
                        )
                    )
                if (
                    facts.cuda
                    and pin.local
                    and pin.local.startswith("cu")
                    and pin.local != "cu" + facts.cuda.replace(".", "")
                ):
                    self.findings.append(
                        Finding(
                            severity="warning",
                            rule="cuda-disagrees",
                            file=pin.file,
                            line=pin.line,
                            message=f"{pin.file} pins torch+{pin.local}, but {file}:{line} is a CUDA {facts.cuda} image.",
                            fix="Use the same CUDA build in both.",
                        )
                    )
        if decl and decl.torch:
            for pin in self.pins:
                if not _agree(pin.version, decl.torch):
                    self.findings.append(
                        Finding(
                            severity="error",
                            rule="torch-disagrees",
                            file=pin.file,
                            line=pin.line,
                            message=f"{pin.file} pins torch {pin.version}; the declaration says {decl.torch}.",
                            fix="Make them agree, then run `torchlane env lock`.",
                        )
                    )


def run_check(root: Path) -> CheckReport:
    matrix = load_matrix()
    decl = load_declaration(root)
    extra = (*decl.requirements, decl.lock) if decl else ()
    files = discover(root, extra)
    run = _Run(root, matrix, decl)
    if decl:
        run.findings += _declaration_findings(matrix, decl)
        if decl.base_image:
            run.image(decl.base_image, decl.path, decl.line_of("base_image"))
    run.requirements(files.requirements)
    read_pyproject = run.pyproject()
    for path in files.dockerfiles:
        run.dockerfile(path)
    for path in files.compose:
        run.compose(path)
    for path in files.conda:
        run.conda(path, run.project_torch())
    run.cross_file()
    order = {"error": 0, "warning": 1, "info": 2}
    findings = sorted(
        dict.fromkeys(run.findings), key=lambda f: (order[f.severity], f.file, f.line, f.rule)
    )
    watched = sorted(
        {*files.all, *extra, *run.lock_inputs, *(["pyproject.toml"] if read_pyproject else [])}
    )
    return CheckReport(str(root), files.all, findings, watched)
