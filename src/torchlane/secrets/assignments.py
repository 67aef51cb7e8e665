"""The line parser behind the generic rule: `NAME OPERATOR VALUE` on one line, in the spellings
of the languages and formats an ML repository holds.

Recognised, with NAME any identifier (`api_token`, `mySecretString`, `$dbPassword`,
`--password`, `x-api-key`, `config.client_secret`, a quoted key such as `"client_secret"` or
`os.environ["WANDB_API_KEY"]`):

- assignments: `=`, `:=`, `::=`, `:::=`, `?=` (Go, Make), `.=` (PHP), `=>` (Perl, PHP, Ruby,
  logstash), a type between (`token: str = ...`, Go's `var token string = ...`);
- keys: `name: value` (YAML, JSON, Python dicts);
- a call's arguments when the name is a string: `setProperty("API_TOKEN", "...")`,
  `os.environ.setdefault("HF_TOKEN", "...")`;
- an XML element, its value on the same line or alone on the next: `<apiToken>...</apiToken>`.

Values are bounded (1,000 characters; a longer run is data, not a key), so that a long line of
`token=token=...` costs linear time. The value is a quoted string (single, double or back quotes, optionally prefixed b/u/r/f, its quotes
optionally backslash-escaped as inside a JSON string) or a bare word. Nothing crosses a line except
the XML element's own layout, so a finding is always on the line of its value.

Whether NAME names a secret is decided on its words (`mySecretString` -> my, secret, string):
see `secret_name`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Cheap pre-filter: every secret-looking name contains one of these (lowercased).
KEYWORDS = ("token", "secret", "passw", "pwd", "pass", "key", "auth", "cred")
_KEYWORD = re.compile(r"(?i)token|secret|passw|pwd|pass|key|auth|cred")

# An identifier, possibly with a PHP `$`, dotted (`config.api_key`) or dashed (`x-api-key`,
# `--password`). Bounded: a minified line is one long run of such characters.
_IDENT_CHAR = r"[\w.\-$]"
_IDENT_RIGHT = re.compile(rf"{_IDENT_CHAR}{{0,80}}")
# Up to the last character that cannot be in a name (greedy `.*` then one step back: linear,
# where searching for `[...]*\Z` would retry from every position of the window).
_BEFORE_NAME = re.compile(r".*[^\w.\-$]", re.DOTALL)
_MAX_NAME = 80

_AFTER_NAME = re.compile(
    r"""(?P<close>\\?["'`]\]?)?                 # the closing quote of a quoted key
    [ \t]*
    (?:(?::[ \t]*[A-Za-z_][\w\[\].,| ]{0,40}?   # a type annotation: token: str = ...
        |[ \t]string)[ \t]*(?==[^=]))?          # Go: var token string = ...
    (?P<op>:{1,3}=|\?=|\.=|=>|=(?![=~])|:(?![:=])|,)
    [ \t]*
    (?:(?P<prefix>[bBuUrRfF]{0,2})\\?(?P<q>["'`])(?P<quoted>[^\n]{0,1000}?)\\?(?P=q)
      |(?P<bare>[^\s"'`,;)\]}&<>\\]{1,1000}))
    (?P<tail>[ \t]*\))?
    """,
    re.VERBOSE,
)
# `<apiToken>` VALUE `</apiToken>`, the value on the tag's line or alone on the next.
_XML_AFTER = re.compile(
    r">[ \t]*(?:\r?\n[ \t]*)?(?P<bare>[^\s<]{1,500})[ \t]*(?:\r?\n[ \t]*)?</(?P<end>[\w.\-:]+)>"
)
# `call(` right before a quoted name: setProperty("API_TOKEN", ...), environ.get("X", ...).
_CALL_BEFORE = re.compile(r"[\w\]][ \t]*\([ \t]*\\?[\"'`]\Z")
_BARE_CHAR = re.compile(r"[^\s\"'`,;)\]}&<>\\]")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# A word that makes a name secret on its own.
_SECRET_WORDS = frozenset(
    [
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "credential",
        "credentials",
        "creds",
        "cred",
        "auth",
        "apikey",
        "apitoken",
        "authtoken",
        "accesstoken",
        "secretkey",
        "privatekey",
        "accesskey",
        "authkey",
    ]
)
# "key" alone is a dictionary key, a keyboard key, a sort key, a cache key: it names a secret
# only after one of these (api_key, access_key, private-key, wandb_key, signingKey...).
_KEY_QUALIFIERS = frozenset(
    [
        "api",
        "access",
        "secret",
        "private",
        "auth",
        "client",
        "signing",
        "sign",
        "encryption",
        "encrypt",
        "master",
        "license",
        "licence",
        "service",
        "account",
        "session",
        "hmac",
        "jwt",
        "ssh",
        "deploy",
        "consumer",
        "app",
        "admin",
        "shared",
        "storage",
        "subscription",
        "sas",
        "wandb",
        "openai",
        "anthropic",
        "hf",
        "stripe",
        "aws",
        "gcp",
        "azure",
        "write",
        "root",
        "crypto",
        "cipher",
        "aes",
    ]
)
# A word right before the secret word that says it is not one: a public key, a CSRF token, an
# NLP token (eos_token, pad_token, max_tokens), a pagination token.
_NOT_SECRET_BEFORE = frozenset(
    [
        "public",
        "pub",
        "csrf",
        "xsrf",
        "max",
        "min",
        "num",
        "n",
        "total",
        "next",
        "prev",
        "page",
        "continuation",
        "eos",
        "bos",
        "pad",
        "unk",
        "mask",
        "sep",
        "cls",
        "special",
        "start",
        "end",
        "with",
        "has",
        "is",
        "use",
        "dummy",
        "fake",
        "mock",
        "example",
        "sample",
    ]
)
# A word after the secret word that says the value describes the secret rather than being it
# ("key" too: token_key is a lookup key, while secret_key is found through its qualifier).
_DESCRIPTORS = frozenset(
    [
        "id",
        "ids",
        "name",
        "names",
        "url",
        "uri",
        "urls",
        "endpoint",
        "host",
        "file",
        "files",
        "filename",
        "path",
        "dir",
        "length",
        "len",
        "size",
        "type",
        "types",
        "count",
        "format",
        "prefix",
        "suffix",
        "header",
        "field",
        "env",
        "var",
        "variable",
        "ref",
        "alias",
        "version",
        "limit",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "timeout",
        "lifetime",
        "chars",
        "mode",
        "policy",
        "location",
        "provider",
        "source",
        "label",
        "regex",
        "pattern",
        "scope",
        "scopes",
        "method",
        "kind",
        "index",
        "required",
        "enabled",
        "valid",
        "hint",
        "prompt",
        "message",
        "msg",
        "error",
        "text",
        "help",
        "title",
        "column",
        "class",
        "command",
        "cmd",
        "flag",
        "option",
        "arg",
        "param",
        "selector",
        "hash",
        "reset",
        "rotation",
        "store",
        "manager",
        "mount",
        "key",
    ]
)


def name_words(name: str) -> list[str]:
    """`mySecretString` -> my, secret, string; `GENERIC_TOKEN` -> generic, token."""
    return [w.lower() for w in _WORDS.findall(name)]


def secret_name(name: str) -> bool:
    """Whether NAME names a secret: its last secret word is not qualified away (public_key,
    csrf_token, max_tokens) and is not followed by a word that describes it (token_url,
    secret_name, credentials_id)."""
    words = name_words(name)
    found = -1
    for index, word in enumerate(words):
        before = words[index - 1] if index else ""
        if word == "key":
            if before in _KEY_QUALIFIERS:
                found = index
        elif word in _SECRET_WORDS or (word == "pass" and index == len(words) - 1):
            # "pass" only ends a name (DB_PASS, smtp_pass), never PassThrough or pass_rate.
            found = index if before not in _NOT_SECRET_BEFORE else -1
    if found < 0:
        return False
    return not any(word in _DESCRIPTORS for word in words[found + 1 :])


@dataclass(frozen=True)
class Assignment:
    name: str
    value: str
    start: int  # the value's offset in the text
    quoted: bool
    operator: str


def _name_around(text: str, position: int) -> tuple[int, int]:
    window = max(0, position - _MAX_NAME)
    before = _BEFORE_NAME.match(text, window, position)
    right = _IDENT_RIGHT.match(text, position)
    start = before.end() if before else window
    end = right.end() if right else position
    return start, end


def assignments(text: str) -> Iterator[Assignment]:
    """Every `NAME OPERATOR VALUE` in `text` whose NAME contains a keyword (whatever the name
    means: the caller decides with `secret_name`)."""
    seen: set[int] = set()
    for hit in _KEYWORD.finditer(text):
        start, end = _name_around(text, hit.start())
        if start in seen:
            continue
        seen.add(start)
        name = text[start:end].rstrip(".-")
        end = start + len(name)
        opening = text[start - 1] if start else ""
        if opening == "<":
            xml = _XML_AFTER.match(text, end)
            if xml and xml.group("end") == name:
                yield Assignment(name, xml.group("bare"), xml.start("bare"), False, ">")
            continue
        match = _AFTER_NAME.match(text, end)
        if match is None:
            continue
        op = match.group("op")
        if op == "," and not (
            match.group("close")
            and match.group("tail")
            and _CALL_BEFORE.search(text, max(0, start - 40), start)
        ):
            # Only `call("API_TOKEN", "value")`: a key and its value as a call's only arguments.
            # `f(a_token, b)` and `("a_token", "b", "c")` are lists of names.
            continue
        quoted = match.group("quoted")
        if quoted is not None:
            if "f" in match.group("prefix").lower() and "{" in quoted:
                continue  # an f-string with fields: code, not a literal
            yield Assignment(name, quoted, match.start("quoted"), True, op)
        else:
            if _BARE_CHAR.match(text, match.end("bare")):
                continue  # over 1,000 characters: data, not a key (checked here: no backtracking)
            bare = match.group("bare").rstrip(":")
            yield Assignment(name, bare, match.start("bare"), False, op)
