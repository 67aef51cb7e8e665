"""Each rule finds its secret and leaves look-alikes alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from torchlane.secrets.rules import is_placeholder, shannon_entropy
from torchlane.secrets.scan import ScanSettings, fingerprint, redact, scan_text

SETTINGS = ScanSettings()

# Assembled at run time so that this file itself holds no secret-shaped literal.
HEX40 = "3f9a1c0b7d2e4f6a8b5c9d0e1f2a3b4c5d6e7f80"
HF = "hf_" + "QmZxWvUtSrQpOnMlKjIhGfEdCbAzYxWvUt"
AWS_ID = "AKIA" + "QWERTYUIOPASDFGH"
AWS_SECRET = "Zk3Jd8+f/2Hq9sLm4Pw7Rt1Yx6Cv0Bn5Az8Qe2Ws"  # torchlane: allow-secret
GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GH_PAT = "github_pat_" + "11ABCDEFG0" + "aZ9x" * 18
KEY_BODY = "MIIEowIBAAKCAQEAx4UbaDzY2Fj1kq8ZtM3nW0pR7sL9vB6cX2yH5eQ1tJ0uKfA"
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----"
GENERIC = "Zx9Qw3Er7Ty1Ui5Op2"

# fmt: off
POSITIVE = [
    ("wandb-api-key", f'os.environ["WANDB_API_KEY"] = "{HEX40}"'),
    ("wandb-api-key", f"wandb.login(key='{HEX40}')"),
    ("wandb-api-key", f"machine api.wandb.ai\n  login user\n  password {HEX40}"),
    ("wandb-api-key", "key = wandb_v1_" + "Ab3dE5gH7jK9mN1pQ3sT5vX7"),
    ("huggingface-token", f'login(token="{HF}")'),
    ("aws-access-key-id", f"aws_access_key_id = {AWS_ID}"),
    ("aws-secret-access-key", f'AWS_SECRET_ACCESS_KEY: "{AWS_SECRET}"'),
    ("github-token", f"GITHUB_TOKEN={GH}"),
    ("github-token", f"token: {GH_PAT}"),
    ("private-key", PEM),
    ("jupyter-token-argument", "jupyter notebook --NotebookApp.token='' --ip=0.0.0.0"),  # torchlane: allow-secret
    ("jupyter-token-argument", "jupyter lab --ServerApp.token= --port 8888"),  # torchlane: allow-secret
    ("jupyter-token-argument", "jupyter lab --IdentityProvider.token=9f8e7d6c5b4a3f2e"),  # torchlane: allow-secret
    ("jupyter-token-config", "c.ServerApp.token = ''"),  # torchlane: allow-secret
    ("jupyter-token-config", 'c.IdentityProvider.token = "9f8e7d6c5b4a3f2e1d0c"'),  # torchlane: allow-secret
    ("jupyter-token-config", "c.PasswordIdentityProvider.hashed_password = 'argon2:$argon2id$v=19'"),  # torchlane: allow-secret
    ("generic-secret", f'api_token = "{GENERIC}"'),
    ("generic-secret", f"db_password: {GENERIC}"),
    ("generic-secret", f'token: str = "{GENERIC}"'),
    ("generic-secret", f"export SERVICE_SECRET={GENERIC}"),
]
# fmt: on

NEGATIVE = [
    f"commit {HEX40} fixed the loader",  # a git commit id is not a W&B key
    "hf_short",
    "AKIAIOSFODNN7EXAMPLE",  # AWS's documentation key
    "ghp_" + "x" * 36,
    "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
    'jupyter lab --ServerApp.token="$JUPYTER_TOKEN"',
    "pass `--IdentityProvider.token=…` to set it",  # documentation, not a token
    "c.ServerApp.token = os.environ['JUPYTER_TOKEN']",
    'token = "<your-token>"',
    "token = ${HF_TOKEN}",
    'token = os.environ["TOKEN"]',
    'secret = "xxxxxxxxxxxxxxxx"',
    'password = "aaaaaaaaaaaaaaaaaaaa"',  # no entropy
    "self.token = compute_token(batch)",
    "password = args.password_from_cli",
    "max_tokens = 4096000000000",
    f'if token == "{GENERIC}": pass',
    'tokenizer = "bert-base-uncased-v2"',
    "num_tokens: int = 512",
]


@pytest.mark.parametrize(("rule", "text"), POSITIVE)
def test_rule_finds_its_secret(rule: str, text: str) -> None:
    findings = scan_text(text, "config.py", SETTINGS)
    assert [f.rule for f in findings] == [rule]


@pytest.mark.parametrize("text", NEGATIVE)
def test_look_alikes_are_not_findings(text: str) -> None:
    assert scan_text(text, "config.py", SETTINGS) == []


def test_an_empty_jupyter_token_is_reported_as_disabling_authentication() -> None:
    command = "jupyter lab --IdentityProvider.token=''"  # torchlane: allow-secret
    (finding,) = scan_text(command, "run.sh", SETTINGS)
    assert finding.preview == "(empty: authentication disabled)"


def test_findings_carry_a_redacted_preview_and_a_hash_never_the_secret() -> None:
    (finding,) = scan_text(f'\n\nlogin(token="{HF}")', "train.py", SETTINGS)
    assert finding.line == 3
    assert finding.preview == "hf_Q…"
    assert finding.sha256 == fingerprint(HF)
    assert HF not in repr(finding)
    assert redact(HF) == "hf_Q…"


def test_allow_pragma_silences_only_its_line() -> None:
    text = f'a = "{HF}"  # torchlane: allow-secret\nb = "{HF}"\n'
    findings = scan_text(text, "x.py", SETTINGS)
    assert [f.line for f in findings] == [2]


def test_a_specific_rule_wins_over_the_generic_one() -> None:
    findings = scan_text(f'hf_token = "{HF}"', "x.py", SETTINGS)
    assert [f.rule for f in findings] == ["huggingface-token"]


def test_entropy_threshold_is_configurable() -> None:
    text = 'password = "Tr0ub4dor&3x"'
    assert scan_text(text, "x.py", ScanSettings(entropy_threshold=3.0, min_secret_length=8))
    assert not scan_text(text, "x.py", ScanSettings(entropy_threshold=4.5, min_secret_length=8))


@given(st.text(min_size=1, max_size=40))
def test_entropy_is_bounded_by_the_alphabet(text: str) -> None:
    import math

    assert 0.0 <= shannon_entropy(text) <= math.log2(len(set(text))) + 1e-9


@given(st.from_regex(r"[A-Za-z0-9]{4,20}", fullmatch=True))
def test_wrapped_values_are_placeholders(value: str) -> None:
    for wrapped in (f"<{value}>", f"${{{value}}}", f"{{{{ {value} }}}}", f"${value}"):
        assert is_placeholder(wrapped)
