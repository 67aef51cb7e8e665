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

from torchlane.secrets.assignments import KEYWORDS, name_words

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

    def value(self, match: re.Match[str]) -> tuple[str, int]:
        """The secret a match found, and its offset in the text."""
        for group in ("secret", "bare"):
            if group in self.pattern.groupindex and match.group(group) is not None:
                return match.group(group), match.start(group)
        return match.group(0), match.start()


_JUPYTER_CLASSES = r"(?:NotebookApp|ServerApp|LabApp|IdentityProvider|PasswordIdentityProvider)"
_JUPYTER_TRAITS = r"(?:token|password|hashed_password)"
_WANDB = "Weights & Biases API key"
_HEX40 = r"(?<![0-9a-f@])(?P<secret>[0-9a-f]{40})(?![0-9a-f])"

# Every pattern stays on one line (`[ \t]`, never `\s` or `.` with DOTALL) except where the format
# itself spans lines: a PEM block and a .netrc entry. A finding is reported on its secret's line.
RULES: tuple[Rule, ...] = (
    # 40 lowercase hex digits are also a git commit id or a checksum: they count only in a W&B
    # context. Assignments to a W&B name (WANDB_API_KEY=..., os.environ["WANDB_API_KEY"] = ...)
    # are found by the assignment parser (see wandb_name); here are the call, the command line
    # and the .netrc entry, one pattern each (a rule id may have several).
    Rule(
        "wandb-api-key",
        _WANDB,
        re.compile(rf"(?i:\bwandb\.login\([^()\n]{{0,200}}?)[bu]?[\"']{_HEX40}[\"']"),
        ("wandb",),
    ),
    Rule(
        "wandb-api-key",
        _WANDB,
        re.compile(rf"(?i:\bwandb[ \t]+login(?:[ \t]+--?[\w-]+)*[ \t]+){_HEX40}"),
        ("wandb",),
    ),
    Rule(
        "wandb-api-key",
        _WANDB,
        re.compile(
            rf"(?i:\bmachine[ \t]+api\.wandb\.ai\b(?:\s+(?:login|account)[ \t]+\S+)*\s+"
            rf"password[ \t]+){_HEX40}"
        ),
        ("wandb",),
    ),
    Rule(
        "wandb-api-key",
        _WANDB,
        re.compile(r"\b(?P<secret>wandb_v1_[A-Za-z0-9_\-]{20,})"),
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
            r"(?i)aws_?secret_?access_?key[\"']?[ \t]*(?::=|=>|=|:)[ \t]*[\"']?"
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
            rf"\bc\.{_JUPYTER_CLASSES}\.{_JUPYTER_TRAITS}[ \t]*=[ \t]*[bu]?(?P<q>[\"'])(?P<secret>[^\n]*?)(?P=q)"
        ),
        ("token", "password"),
        empty_is_finding=True,
    ),
    Rule(
        "url-credentials",
        "password in a URL",
        # scheme://user:password@host; the password passes the generic filters (entropy, length).
        re.compile(
            r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@\"'`<>]{0,100}:"
            r"(?P<secret>[^\s:/@\"'`<>]{1,200})@[A-Za-z0-9.\-\[\]]+"
        ),
        ("://",),
        generic=True,
    ),
)

# The rules the assignment parser reports (assignments.py); generic ones pass the value filters.
WANDB_RULE = Rule("wandb-api-key", _WANDB, re.compile(_HEX40), ("wandb",))
GENERIC_RULE = Rule(
    "generic-secret",
    "high-entropy value assigned to a secret-looking name",
    re.compile(r"(?P<secret>.+)"),
    KEYWORDS,
    generic=True,
)
WANDB_VALUE = re.compile(r"[0-9a-f]{40}|wandb_v1_[A-Za-z0-9_\-]{20,}")


def wandb_name(name: str) -> bool:
    """A name that holds a W&B key: WANDB_API_KEY, wandb_key, WandbToken..."""
    words = name_words(name)
    return "wandb" in words and any(w in {"api", "key", "token", "apikey"} for w in words)


# Values that stand for a secret rather than being one.
_PLACEHOLDER = re.compile(
    r"^[$%]|\$\{|\{\{|^<.*>$|x{4}|\*{3}|\.{3}|…|0{8}|your|example|placeholder|changeme|change_me|"
    r"dummy|redacted|replace|environ|getenv|secret_here|token_here|^(?:none|null|true|false)$",
    re.IGNORECASE,
)
# A bare (unquoted) value that is code: a call, an attribute, an index, a plain identifier.
_CODE_LIKE = re.compile(r"[()\[\]{}]|^[A-Za-z_][A-Za-z_]*$|^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
# A snake_case name, quoted or not (`_convert_credentials`, "databricks_oauth_m2m"): every part
# starts with a letter, which a random key's parts rarely all do.
_SNAKE_CASE = re.compile(r"^_*[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)+$")
# A path or a URL is where a secret is kept, not the secret (a password in a URL is its own rule).
_LOCATION = re.compile(r"^(?:~?/|\.{1,2}/|[A-Za-z]:\\|[a-z][a-z0-9+.\-]*://)")
# Words and separators only (an identifier, a constant's name, a dotted or C++ path): gitleaks
# drops these too. A key drawn at random holds a digit in all but a sliver of cases.
_WORDS_ONLY = re.compile(r"^[A-Za-z_.:/\-]+$")
# An alphabet written out (`"ABCDEFGHIJ..."`, `"0123456789abcdef"`): high entropy, no secret.
_RUN = re.compile(r"abcdefgh|ABCDEFGH|0123456789")


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
    if _LOCATION.match(value) or _RUN.search(value) or _WORDS_ONLY.match(value):
        return False
    if _SNAKE_CASE.match(value):
        return False
    if sum(c.isalnum() for c in value) * 2 < len(value):
        return False  # mostly punctuation: a character class, a separator line
    if bare and not value.startswith("eyJ") and _CODE_LIKE.search(value):
        return False
    return shannon_entropy(value) >= entropy_threshold
