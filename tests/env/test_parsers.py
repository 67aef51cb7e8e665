"""The hand-written parsers: Dockerfile FROM lines, image references, requirement lines."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from torchlane.env.check.dockerfile import from_lines, instructions
from torchlane.env.check.requirements import parse_requirement, parse_requirements
from torchlane.env.imageref import parse_image

_word = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)
_tag = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digest = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)
_registry = st.sampled_from([None, "ghcr.io", "registry.example.com:5000", "localhost"])


@st.composite
def images(draw: st.DrawFn) -> tuple[str, str | None, str, str | None, str | None]:
    registry = draw(_registry)
    path = "/".join(draw(st.lists(_word, min_size=1, max_size=3)))
    tag = draw(st.none() | _tag)
    digest = draw(st.none() | _digest)
    text = (
        (f"{registry}/" if registry else "")
        + path
        + (f":{tag}" if tag else "")
        + (f"@{digest}" if digest else "")
    )
    return text, registry, path, tag, digest


@given(images())
def test_image_reference_parts_round_trip(
    image: tuple[str, str | None, str, str | None, str | None],
) -> None:
    text, registry, path, tag, digest = image
    ref = parse_image(text)
    assert ref is not None
    assert ref.registry == registry
    assert ref.tag == tag
    assert ref.digest == digest
    expected = f"library/{path}" if registry is None and "/" not in path else path
    assert ref.repository == expected


@given(
    image=images(),
    platform=st.none() | st.sampled_from(["linux/amd64", "$BUILDPLATFORM"]),
    stage=st.none() | _word,
    keyword=st.sampled_from(["FROM", "from", "From"]),
    split=st.booleans(),
    comment=st.booleans(),
    via_arg=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_from_line_survives_formatting(
    *, image, platform, stage, keyword, split, comment, via_arg
) -> None:
    text = image[0]
    lines = ["# syntax=docker/dockerfile:1"]
    reference = text
    if via_arg:
        lines.append(f'ARG BASE_IMAGE="{text}"')
        reference = "${BASE_IMAGE}"
    parts = [keyword]
    if platform:
        parts.append(f"--platform={platform}")
    parts.append(reference)
    if stage:
        parts += ["AS", stage]
    if split:
        lines.append(parts[0] + " \\")
        if comment:
            lines.append("  # a comment inside the continuation")
        lines.append("    " + " ".join(parts[1:]))
    else:
        lines.append(" ".join(parts))
    lines.append("RUN echo done")
    found = from_lines("\n".join(lines) + "\n")
    assert len(found) == 1
    assert found[0].image == text
    assert found[0].stage == stage
    assert found[0].platform == platform
    assert found[0].line == (3 if via_arg else 2)


def test_heredoc_bodies_are_not_instructions() -> None:
    text = """\
FROM python:3.12-slim AS base
RUN <<EOF
FROM this is shell text, not an instruction
EOF
COPY <<-"CONF" /etc/app.conf
\tFROM neither
\tCONF
FROM base
RUN echo $((1<<2)) <<NOT_A_HEREDOC_WORD-
FROM scratch
"""
    found = [(f.line, f.image) for f in from_lines(text)]
    assert found == [(1, "python:3.12-slim"), (8, "base"), (10, "scratch")]


def test_multi_stage_args_and_escape_directive() -> None:
    text = """\
# escape=`
ARG TORCH=2.9.0
ARG CUDA=12.8 FLAVOR="runtime"
ARG UNSET
FROM pytorch/pytorch:${TORCH}-cuda${CUDA}-cudnn9-${FLAVOR} AS base
RUN pip install `
    numpy
FROM base AS test
FROM ${UNSET:-python:3.11-slim}
FROM ${UNSET}
FROM scratch
"""
    found = from_lines(text)
    assert [f.image for f in found] == [
        "pytorch/pytorch:2.9.0-cuda12.8-cudnn9-runtime", "base", "python:3.11-slim", "${UNSET}", "scratch",
    ]  # fmt: skip
    assert [f.line for f in found] == [5, 8, 9, 10, 11]
    assert [f.stage_ref for f in found] == [False, True, False, False, False]
    assert found[3].unresolved == ("UNSET",)
    assert [i.keyword for i in instructions(text)][:5] == ["ARG", "ARG", "ARG", "FROM", "RUN"]


_name = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}[A-Za-z0-9]", fullmatch=True)
_version = st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,3}){1,2}", fullmatch=True)  # ~= needs two parts
_hash = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)


@settings(max_examples=50)
@given(
    entries=st.lists(
        st.tuples(_name, st.sampled_from(["==", ">=", "~=", ""]), _version, st.lists(_hash, max_size=2), st.booleans()),
        min_size=1, max_size=6, unique_by=lambda e: re.sub(r"[-_.]+", "-", e[0]).lower(),
    ),
)  # fmt: skip
def test_requirement_lines_parse_with_pins_hashes_and_comments(entries) -> None:
    lines = ["# a header comment", "--extra-index-url https://download.pytorch.org/whl/cu128"]
    expected_lines = []
    for name, operator, version, hashes, comment in entries:
        spec = f"{name}{operator}{version}" if operator else name
        suffix = "  # pinned for a reason" if comment else ""
        expected_lines.append(len(lines) + 1)
        if hashes:
            lines.append(f"{spec} \\")
            lines += [f"    --hash={h} \\" for h in hashes[:-1]]
            lines.append(f"    --hash={hashes[-1]}{suffix}")
        else:
            lines.append(spec + suffix)
    parsed = parse_requirements("\n".join(lines) + "\n")
    assert parsed.options == [(2, "--extra-index-url", "https://download.pytorch.org/whl/cu128")]
    assert parsed.header == ["# a header comment"]
    assert [r.line for r in parsed.requirements] == expected_lines
    for req, (name, operator, version, hashes, _) in zip(parsed.requirements, entries, strict=True):
        assert req.error is None
        assert req.name == re.sub(r"[-_.]+", "-", name).lower()
        assert req.hashes == tuple(hashes)
        assert req.version == (version if operator == "==" else None)
        assert req.specifier == ("" if not operator else req.specifier)
        assert req.pinned == (operator == "==")


def test_requirement_edge_cases() -> None:
    parsed = parse_requirements(
        "torch==2.9.0+cu128 ; sys_platform == 'linux'\n-e .\n-r base.txt\nnot a requirement!!\n"
        "pkg @ https://example.com/pkg-1.0.tar.gz --hash=sha256:" + "a" * 64 + "\n"
    )
    torch, editable, broken, direct = parsed.requirements
    assert (torch.name, torch.version) == ("torch", "2.9.0+cu128")
    assert editable.editable
    assert not editable.pinned
    assert broken.error is not None
    assert direct.url
    assert direct.pinned
    assert parsed.options == [(3, "-r", "base.txt")]


@given(
    name=_name,
    version=_version,
    local=st.none() | st.sampled_from(["cu128", "cpu", "rocm6.4"]),
    spaces=st.booleans(),
)
def test_the_exact_pin_shortcut_agrees_with_packaging(
    name: str, version: str, local: str | None, spaces: bool
) -> None:
    from packaging.requirements import Requirement as Parsed
    from packaging.utils import canonicalize_name

    full = version + (f"+{local}" if local else "")
    text = f"{name} == {full}" if spaces else f"{name}=={full}"
    ours = parse_requirement(1, text)
    theirs = Parsed(text)
    assert ours.name == canonicalize_name(theirs.name)
    assert ours.specifier == str(theirs.specifier)
    assert ours.version == full
