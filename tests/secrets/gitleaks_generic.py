"""gitleaks' own examples for its generic rule, as test data.

Copied as data from gitleaks (MIT licence), commit b58d3f1 (2026-07-22):
`cmd/generate/config/rules/generic.go` (the true- and false-positive lists of
`GenericCredential`) and `cmd/generate/config/utils/generate.go` (`GenerateSampleSecrets`, the
26 assignment forms, filled with each of the two sample secrets). The rule under test is
torchlane's own (src/torchlane/secrets/assignments.py); only the examples come from gitleaks.

gitleaks draws some values at random (`newPlausibleSecret`: a regex, retried until it holds a digit
from 1 to 9); here they are drawn once from a seeded generator, so every run sees the same corpus.
"""

from __future__ import annotations

import random
import string

_rng = random.Random(20260722)


def _plausible(alphabet: str, length: int) -> str:
    while True:
        value = "".join(_rng.choice(alphabet) for _ in range(length))
        if any(c in "123456789" for c in value):
            return value


_ALNUM = string.ascii_letters + string.digits
_WIDE = _ALNUM + "-_.="

# The forms of GenerateSampleSecrets ({i}: the identifier, {I}: upper case, {s}: the secret).
FORMS = {
    "ini - quoted1": '{i}Token="{s}"',
    "ini - quoted2": '{i}Token = "{s}"',
    "ini - unquoted1": "{i}Token={s}",
    "ini - unquoted2": "{i}Token = {s}",
    "json - string": '{\n    "{i}_token": "{s}"\n}',
    "json - escaped newline in string": '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}',
    "xml - element multiline": "<{i}Token>\n    {s}\n</{i}Token>",
    "yaml - singleline - unquoted": "{i}_token: {s}",
    "yaml - singleline - single quote": "{i}_token: '{s}'",
    "yaml - singleline - double quote": '{i}_token: "{s}"',
    "C#": 'string {i}Token = "{s}";',
    "go - normal": 'var {i}Token string = "{s}"',
    "go - short": '{i}Token := "{s}"',
    "go - backticks": "{i}Token := `{s}`",
    "java": 'String {i}Token = "{s}";',
    "kotlin - notype": 'var {i}Token = "{s}"',
    "php - string concat": '${i}Token .= "{s}"',
    "python - single quote": "{i}Token = '{s}'",
    "python - double quote": '{i}Token = "{s}"',
    "misc - comma operator": 'System.setProperty("{I}_TOKEN", "{s}")',
    "logstash": '  "{i}Token" => "{s}"',
    "make - recursive assignment": '{i}_TOKEN = "{s}"',
    "make - simple assignment": '{i}_TOKEN := "{s}"',
    "make - shell assignment": '{i}_TOKEN ::= "{s}"',
    "make - evaluated shell assignment": '{i}_TOKEN :::= "{s}"',
    "make - conditional assignment": '{i}_TOKEN ?= "{s}"',
}

SAMPLE_SECRETS = (
    "CLOJARS_34bf0e88955ff5a1c328d6a7491acc4f48e865a7b8dd4d70a70749037443",  # torchlane: allow-secret
    "Zf3D0LXCM3EIMbgJpUNnkRtOfOueHznB",  # torchlane: allow-secret
)


def _fill(form: str, secret: str) -> str:
    return form.replace("{i}", "generic").replace("{I}", "GENERIC").replace("{s}", secret)


TRUE_POSITIVES: list[str] = (
    [_fill(f, s) for s in SAMPLE_SECRETS for f in FORMS.values()]
    + [
        "'access_token': 'eyJ0eXAioiJKV1slS3oASx=='",  # torchlane: allow-secret
        f'some_api_token_123 = "{_plausible(_ALNUM, 60)}"',
        '"user_auth": "am9obmRvZTpkMDY5NGIxYi1jMTcxLTQ4ODYt+TMyYS0wMmUwOWQ1/mIwNjc="',  # torchlane: allow-secret
        '"credentials" : "0afae57f3ccfd9d7f5767067bc48b30f719e271ba470488056e37ab35d4b6506"',  # torchlane: allow-secret
        f"creds = {_plausible(_ALNUM, 30)}",
        f"private-key: {_plausible(_WIDE, 100)}",
        f"passwd = {_plausible(_WIDE, 30)}",
        '"client_secret" : "6da89121079f83b2eb6acccf8219ea982c3d79bccc3e9c6a85856480661f8fde",',  # torchlane: allow-secret
        f"mySecretString={_plausible(_ALNUM, 30)}",
        f"todo_secret_do_not_commit = {_plausible(_ALNUM, 30)}",
        ' utils.GetEnvOrDefault("api_token", "dafa7817-e246-48f3-91a7-e87653d587b8")',  # torchlane: allow-secret
    ]
)

FALSE_POSITIVES: list[str] = [
    # Access
    '"accessor":"rA1wk0Y45YCufyfq",',
    "report_access_id: e8e4df51-2054-49b0-ab1c-516ac95c691d",
    'accessibilityYesOptionId = "0736f5ef-7e88-499a-80cc-90c85d2a5180"',
    "_RandomAccessIterator>\n_LIBCPP_CONSTEXPR_AFTER_CXX11 ",
    # API
    'this.ultraPictureBox1.Name = "ultraPictureBox1";',
    "rapidstring:marm64-uwp=fail",
    "event-bus-message-api:rc0.15.0_20231217_1420-SNAPSHOT'",
    "COMMUNICATION_API_VERSION=rc0.13.0_20230412_0712-SNAPSHOT",
    "MantleAPI_version=9a038989604e8da62ecddbe2094b16ce1b778be1",
    "[DEBUG]\t\torg.slf4j.slf4j-api:jar:1.7.8.:compile (version managed from default)",
    "[DEBUG]\t\torg.neo4j.neo4j-graphdb-api:jar:3.5.12:test",
    "apiUrl=apigee.corpint.com",
    'X-API-Name": "NRG0-Hermes-INTERNAL-API",',
    # Auth
    'author = "james.fake@ymail.com",',
    "X-MS-Exchange-Organization-AuthSource: sm02915.int.contoso.com",
    "Authentication-Results: 5h.ca.iphmx.com",
    # Credentials
    "withCredentials([usernamePassword(credentialsId: '29f63271-dc2f-4734-8221-5b31b5169bac', "
    "usernameVariable: 'USERNAME', passwordVariable: 'PASSWORD')]) {",
    "credentialsId: 'ff083f76-7804-4ef1-80e4-fe975bb9141b'",
    "jobCredentialsId: 'f4aeb6bc-2a25-458a-8111-9be9e502c0e7'",
    '  "credentialId": "B9mTcFSck2LzJO2S3ols63",',
    'environment {\n\tCREDENTIALS_ID = "K8S_CRED"\n}',
    "dev.credentials.url=dev-lb1.api.f4ke.com:5215",
    # Key
    'keyword: "Befaehigung_P2"',
    'public_key = "9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit"',
    "pub const X509_pubkey_st = struct_X509_pubkey_st;",
    "|| pIdxKey->default_rc==0",
    "monkeys-audio:mx64-uwp=fail",
    f"primaryKey={_plausible(_WIDE, 30)}",
    f"foreignKey={_plausible(_WIDE, 30)}",
    f"key_down_event={_plausible(_WIDE, 30)}",
    f"issuerKeyHash={_plausible(_WIDE, 30)}",
    '<entry key="jetbrains.mps.v8_elimination" value="executed" />',
    "minisat-master-keying:x64-uwp=fail",
    "IceSSL.KeyFile=s_rsa1024_priv.pem",
    '"bucket_key": "SalesResults-1.2"',
    '<key tag="SecurityIdentifier" name="SecurityIdentifier" type="STRING" />',
    "schemaKey = 'DOC_Vector_5_32'",
    'sequenceKey = "18"',
    "app.keystore.file=env/cert.p12",
    "-DKEYTAB_FILE=/tmp/app.keytab",
    "\tdoc.Security.KeySize = PdfEncryptionKeySize.Key128Bit;",
    "o.keySelector=n,o.haKey=!1,",
    '                                "key_name": "prod5zyxlmy-cmk",',
    '                                "kms_key_id": "555ea4a3-d53a-4412-9c66-3a7cb667b0d6",',
    '\t"key_vault_name": "web21prqodx24021",',
    "  keyVaultToStoreSecrets: cmp2-qat-1208358310",
    ',apiKey:"6fe4476ee5a1832882e326b506d14126",',
    'const validKeyChars = "0123456789abcdefghijklmnopqrstuvwxyz_-."',
    'const keyStr = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"',
    "key_length = XSalsa20.key_length",
    'pub const SN_id_Gost28147_89_None_KeyMeshing = "id-Gost28147-89-None-KeyMeshing"',
    "KeyPair = X25519.KeyPair",
    "BlindKeySignatures = Ed25519.BlindKeySignatures",
    'AVEncVideoMaxKeyframeDistance, "2987123a-ba93-4704-b489-ec1e5f25292c"',
    "            keyPressed = kVK_Return.u16",
    'timezone_mapping = {\n    "Turkey Standard Time": "Europe/Istanbul",\n}',
    # Password
    "password combination.\n\nR5: Regulatory--21",
    "PuttyPassword=0",
    # Secret
    'LLM_SECRET_NAME = "NEXUS-GPT4-API-KEY"',
    "  <UserSecretsId>79a3edd0-2092-40a2-a04d-dcb46d5ca9ed</UserSecretsId>",
    "secret_length = X25519.secret_length",
    "secretSize must be >= XXH3_SECRET_SIZE_MIN",
    "# get build time secret for authentication\n"
    "#RUN --mount=type=secret,id=jfrog_secret \\\n"
    "#    JFROG_SECRET = $(cat /run/secrets/jfrog_secret) && \\",
    # Token
    "    access_token_url='https://github.com/login/oauth/access_token',",
    'publicToken = "9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit"',
    '<SourceFile SourceLocation="F:\\Extracts\\" TokenFile="RTL_INST_CODE.cer">',
    'notes            = "Maven - io.jsonwebtoken:jjwt-jackson-0.11.2"',
    "csrf-token=Mj2qykJO5rELyHgezQ69nzUX0i3OH67V7+V4eUrLfpuyOuxmiW9rhROG/Whikle15syazJOkrjJa3U2AbhIvUw==",
    # General
    'clientId = "73082700-1f09-405b-80d0-3131bfd6272d"',
    "GITHUB_API_KEY=\nDYNATRACE_API_KEY=",
    "snowflake.password=\njdbc.snowflake.url=",
    "import { chain_Anvil1_Key, chain_Anvil2_Key } from "
    "'../blockchain-tests/pallets/supported-chains/consts';",
    # Yocto/BitBake
    'SRCREV_moby = "43fc912ef59a83054ea7f6706df4d53a7dea4d80"',
    'LIC_FILES_CHKSUM = "file://${WORKDIR}/license.html;md5=5c94767cedb5d6987c902ac850ded2c6"',
]
