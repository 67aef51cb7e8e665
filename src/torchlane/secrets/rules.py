"""The secret rules: one compiled regular expression each, plus the filters for generic values.

Why our own rule set rather than detect-secrets' plugin API: detect-secrets (27 plugins) has no
rule for W&B keys, Hugging Face tokens or Jupyter tokens, scans raw lines (so it misses secrets
inside notebook JSON, detect-secrets#781), and importing its plugin registry costs more than a
git hook can afford. The patterns below are a dozen regular expressions with a cheap keyword
pre-filter; notebooks are parsed and their cell text scanned (see scan.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

ALLOW_PRAGMA = "torchlane: allow-secret"


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    pattern: re.Pattern[str]
    # The text must contain one of these (lowercased text, lowercase keywords) for the rule to run.
    keywords: tuple[str, ...]
    # Generic assignments need the entropy and "looks like code" filters; specific formats do not.
    generic: bool = False
    # An empty value is itself a finding (an empty Jupyter token disables authentication).
    empty_is_finding: bool = False

    def value(self, match: re.Match[str]) -> str:
        for group in ("secret", "bare"):
            if group in self.pattern.groupindex and match.group(group) is not None:
                return match.group(group)
        return match.group(0)


_JUPYTER_CLASSES = r"(?:NotebookApp|ServerApp|LabApp|IdentityProvider|PasswordIdentityProvider)"
_JUPYTER_TRAITS = r"(?:token|password|hashed_password)"
# The name's head is bounded: an unbounded `[...]*` before the alternation backtracks
# quadratically on long runs such as "a-a-a-..." (minified code, data URIs).
_KEY_NAMES = (
    r"[A-Za-z0-9_.\-]{0,40}(?:token|secret|passwd|password|pwd|api_?key|apikey|access_?key|"
    r"secret_?key|auth_?key|private_?key|credentials?)"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "wandb-api-key",
        "Weights & Biases API key",
        # 40 lowercase hex digits are also a git commit id: only count them near "wandb"
        # (WANDB_API_KEY=..., wandb.login(key=...), a .netrc entry for api.wandb.ai).
        re.compile(
            # `owner/repo@<40 hex>` pins a commit (a GitHub action's `uses:`), never a key.
            r"(?is)wandb.{0,100}?(?<![0-9a-f@])(?P<secret>[0-9a-f]{40})(?![0-9a-f])"
            r"|(?P<bare>\bwandb_v1_[A-Za-z0-9_\-]{20,})"
        ),
        ("wandb",),
    ),
    Rule(
        "huggingface-token",
        "Hugging Face access token",
        re.compile(r"\b(?P<secret>hf_[A-Za-z]{34})\b"),
        ("hf_",),
    ),
    Rule(
        "aws-access-key-id",
        "AWS access key id",
        re.compile(r"\b(?P<secret>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"),
        ("a3t", "akia", "asia", "abia", "acca"),
    ),
    Rule(
        "aws-secret-access-key",
        "AWS secret access key",
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*(?::=|=>|=|:)\s*[\"']?"
            r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
        ("secret",),
    ),
    Rule(
        "github-token",
        "GitHub token",
        re.compile(r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{82})\b"),
        ("gh", "github_pat_"),
    ),
    Rule(
        "private-key",
        "private key block",
        re.compile(
            # Optional RFC 1421 headers (Proc-Type: ..., DEK-Info: ...) are whole lines, so
            # the pattern cannot backtrack through them in more than one way.
            r"(?P<secret>-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\n)*"
            r"(?:[A-Za-z-]{1,40}: [^\n]*\n\s*){0,4}[A-Za-z0-9+/=]{40,}"
            r"(?:[\s\S]{0,10000}?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?)"
        ),
        ("private key",),
    ),
    Rule(
        "jupyter-token-argument",
        "Jupyter token or password on a command line",
        re.compile(
            rf"--{_JUPYTER_CLASSES}\.{_JUPYTER_TRAITS}(?:=|[ \t]+)[\"']?(?P<secret>[^\s\"'`,;)\]]*)"
        ),
        ("token", "password"),
        empty_is_finding=True,
    ),
    Rule(
        "jupyter-token-config",
        "Jupyter token or password in a config file",
        re.compile(
            rf"\bc\.{_JUPYTER_CLASSES}\.{_JUPYTER_TRAITS}\s*=\s*[bu]?(?P<q>[\"'])(?P<secret>[^\n]*?)(?P=q)"
        ),
        ("token", "password"),
        empty_is_finding=True,
    ),
    Rule(
        "generic-secret",
        "high-entropy value assigned to a secret-looking name",
        re.compile(
            rf"(?i)(?<![A-Za-z0-9_.\-])(?P<name>{_KEY_NAMES})[\"']?[ \t]*"
            r"(?::[ \t]*[A-Za-z_][\w\[\]., |]*?[ \t]*)?(?::=|=>|=(?!=)|:)[ \t]*"
            r"(?:[bu]?(?P<q>[\"'])(?P<secret>[^\"'\n]*)(?P=q)|(?P<bare>[^\s\"',;#)]+))"
        ),
        ("token", "secret", "passw", "pwd", "key", "credential"),
        generic=True,
    ),
)

# Values that stand for a secret rather than being one.
_PLACEHOLDER = re.compile(
    r"^[$%]|\$\{|\{\{|^<.*>$|x{4}|\*{3}|\.{3}|…|0{8}|your|example|placeholder|changeme|change_me|"
    r"dummy|redacted|replace|environ|getenv|secret_here|token_here|^(?:none|null|true|false)$",
    re.IGNORECASE,
)
# A bare (unquoted) value that is code: a call, an attribute, an index, or a plain identifier.
_CODE_LIKE = re.compile(r"[()\[\]{}]|^[A-Za-z_][A-Za-z_]*$|^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")


def shannon_entropy(text: str) -> float:
    """Bits per character of `text` (0 for the empty string)."""
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value))


def generic_value_is_secret(
    value: str, *, bare: bool, entropy_threshold: float, min_length: int
) -> bool:
    """Whether a value assigned to a secret-looking name looks like a real secret."""
    if len(value) < min_length or " " in value or is_placeholder(value):
        return False
    if bare and not value.startswith("eyJ") and _CODE_LIKE.search(value):
        return False
    return shannon_entropy(value) >= entropy_threshold
