"""Secrets are found in context (an assignment, a call argument, a URL, a key: value) on their
own line and column; gitleaks' own generic examples measure the generic rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.secrets.gitleaks_generic import FALSE_POSITIVES, FORMS, TRUE_POSITIVES
from torchlane.secrets.assignments import assignments, name_words, secret_name
from torchlane.secrets.scan import ScanSettings, fingerprint, scan_text

SETTINGS = ScanSettings()
HEX40 = "3f9a1c0b7d2e4f6a8b5c9d0e1f2a3b4c5d6e7f80"
GENERIC = "Zx9Qw3Er7Ty1Ui5Op2"  # torchlane: allow-secret


def found(text: str) -> list[str]:
    return [f.rule for f in scan_text(text, "x.txt", SETTINGS)]


def test_gitleaks_generic_true_positives_are_all_found() -> None:
    assert len(TRUE_POSITIVES) == 63
    missed = [text for text in TRUE_POSITIVES if not found(text)]
    assert missed == []


def test_gitleaks_generic_false_positives_stay_quiet_but_one() -> None:
    # gitleaks itself only silences this one through a stop word for that very value (a key
    # yarn publishes); torchlane reports it: an api key assigned a 32-hex literal.
    noisy = [text for text in FALSE_POSITIVES if found(text)]
    assert noisy == [',apiKey:"6fe4476ee5a1832882e326b506d14126",']


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_reports_the_secret_s_own_line_and_column(form: str) -> None:
    text = "# header\n" + FORMS[form].replace("{i}", "db").replace("{I}", "DB")
    text = text.replace("{s}", GENERIC)
    (finding,) = scan_text(text, "x.txt", SETTINGS)
    line = text.split("\n")[finding.line - 1]
    assert line[finding.column - 1 :].startswith(GENERIC), (form, finding)
    assert finding.sha256 == fingerprint(GENERIC)


def test_a_commit_id_near_the_word_wandb_is_not_a_key() -> None:
    text = f'import wandb\n\nsha = "{HEX40}"  # dataset checksum\n'
    assert found(text) == []
    url = f"mirrored from https://github.com/wandb/wandb/blob/{HEX40}/lazyloader.py"
    assert found(url) == []
    assert found(f"wandb.init(project='x', id='{HEX40}')") == []


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        (f"WANDB_API_KEY={HEX40}", 1, 15),
        (f"export WANDB_API_KEY={HEX40}", 1, 22),
        (f'os.environ["WANDB_API_KEY"] = "{HEX40}"', 1, 32),
        (f'os.environ.setdefault("WANDB_API_KEY", "{HEX40}")', 1, 41),
        (f'env:\n  WANDB_API_KEY: "{HEX40}"', 2, 19),
        (f'import wandb\nwandb.login(key="{HEX40}")', 2, 18),
        (f"wandb.login(anonymous='never', key='{HEX40}', relogin=True)", 1, 37),
        (f"!wandb login --relogin {HEX40}", 1, 24),
        (f"machine api.wandb.ai\n  login user\n  password {HEX40}\n", 3, 12),
        (f'wandb_key: str = "{HEX40}"', 1, 19),
    ],
)
def test_wandb_keys_in_context(text: str, line: int, column: int) -> None:
    (finding,) = scan_text(text, "x.txt", SETTINGS)
    assert (finding.rule, finding.line, finding.column) == ("wandb-api-key", line, column)


def test_the_secret_s_line_not_the_keyword_s() -> None:
    text = f'credentials = {{\n    "user": "svc",\n    "token": "{GENERIC}",\n}}\n'
    (finding,) = scan_text(text, "x.py", SETTINGS)
    assert (finding.line, finding.column) == (3, 15)


@pytest.mark.parametrize(
    "text",
    [
        f"creds = {GENERIC}",
        f"private-key: {GENERIC}",
        f'dbPassword := "{GENERIC}"',
        f'$db_password = "{GENERIC}";',
        f"API_TOKEN ?= {GENERIC}",
        f"API_TOKEN := {GENERIC}",
        f"export DB_PASS={GENERIC}",
        f"python train.py --password={GENERIC}",
        f"curl -H 'x-api-key: {GENERIC}' https://api",
        f"https://example.org/v1?api_token={GENERIC}&page=2",
        f"git clone https://oauth2:{GENERIC}@gitlab.example.org/team/repo.git",
        f'secret = os.environ.get("HF_TOKEN", "{GENERIC}")',
        f'{{\\"api_token\\": \\"{GENERIC}\\"}}',  # JSON inside a JSON string
        f"<clientSecret>{GENERIC}</clientSecret>",
    ],
)
def test_assignment_forms_are_found(text: str) -> None:
    assert found(text) in (["generic-secret"], ["url-credentials"]), text


@pytest.mark.parametrize(
    "text",
    [
        f'TOKEN_URL = "https://x.org/{GENERIC}"',
        f"eos_token = '<{GENERIC}>'",
        f'public_key = "{GENERIC}"',
        f'cache_key = "{GENERIC}"',
        f'pad_token_id: "{GENERIC}"',
        f'_NAMES = ("api_token", "{GENERIC}")',
        f'check("api_token", "{GENERIC}", strict)',
        f'token = f"{{prefix}}{GENERIC}"',
        "using PassThrough = ck::tensor_operation::element_wise::PassThrough;",
        'runtime_auth: "databricks_oauth_m2m"',
        "DEPLOYMENT_RESOURCE_TYPE_SECRET = 'DEPLOYMENT_RESOURCE_TYPE_SECRET'",
        'TOKEN_SPECIALS = r"!#$%&*+-.^_|~"',
        "password_file = /run/secrets/db_password_2",
        "GITHUB_API_KEY=\nDYNATRACE_API_KEY=",
    ],
)
def test_look_alikes_in_context_are_not_findings(text: str) -> None:
    assert found(text) == [], text


def test_name_words_split_every_naming_style() -> None:
    assert name_words("mySecretString") == ["my", "secret", "string"]
    assert name_words("GENERIC_TOKEN") == ["generic", "token"]
    assert name_words("x-api-key") == ["x", "api", "key"]
    assert name_words("$dbPassword") == ["db", "password"]
    assert secret_name("todo_secret_do_not_commit")
    assert not secret_name("credentialsId")
    assert not secret_name("keyVaultName")
    assert not secret_name("PassThrough")
    assert secret_name("SMTP_PASS")


# The line parser: whatever the text, each value it reports is where it says, on one line.
_NAMES = st.sampled_from(["api_token", "dbPassword", "$secret", "x-api-key", "CREDS", "authKey"])
_OPS = st.sampled_from(["=", " = ", ":=", " ::= ", " ?= ", ": ", " => ", " .= ", ": str = "])
_VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\"'`\\\n\r"), min_size=1, max_size=30
)


# Text made of the pieces the parser reacts to (names, operators, quotes, tags, newlines) and of
# arbitrary characters between them.
_PIECE_LIST = [
    *("api_token", "Password", "$creds", "key", "<", ">", "</", "=", ":", ":=", "?=", ".="),
    *("=>", ",", "(", ")", '"', "'", "`", "\\", "b", "f", "{", "\n", " ", "\t", GENERIC),
]
_PIECES = st.lists(st.sampled_from(_PIECE_LIST) | st.text(max_size=4), max_size=40).map("".join)


@given(_PIECES)
def test_any_text_parses_to_values_at_their_offsets(text: str) -> None:
    for item in assignments(text):
        assert text[item.start : item.start + len(item.value)] == item.value
        assert "\n" not in item.value
        assert item.value  # an empty value is never reported
    # And the scan over the same text never fails, and points into it.
    for finding in scan_text(text, "x.txt", SETTINGS):
        line = text.split("\n")[finding.line - 1]
        assert 1 <= finding.column <= len(line)


@given(_NAMES, _OPS, _VALUES, st.sampled_from(['"', "'", "`"]), st.text(max_size=40))
def test_a_quoted_value_is_read_whole(
    name: str, op: str, value: str, quote: str, before: str
) -> None:
    before = before.replace("\n", " ") + "\n"
    text = f"{before}{name}{op}{quote}{value}{quote}\n"
    (item,) = [a for a in assignments(text) if a.name == name]
    assert (item.value, item.quoted) == (value, True)
    assert item.start == len(before) + len(name) + len(op) + 1


@given(
    st.lists(st.sampled_from(["\n", "x = 1\n", f'api_token = "{GENERIC}"\n', "# c\n"]), max_size=12)
)
def test_findings_point_at_the_secret(lines: list[str]) -> None:
    text = "".join(lines)
    findings = scan_text(text, "x.py", SETTINGS)
    assert len(findings) == lines.count(f'api_token = "{GENERIC}"\n')
    for finding in findings:
        line = text.split("\n")[finding.line - 1]
        assert line[finding.column - 1 :].startswith(GENERIC)
