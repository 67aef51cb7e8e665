"""Post the gate report as one GitLab merge-request note, updated in place.

Run by the generated pipeline's `after_script` as `python -m torchlane.ci.gitlab_note
--token-variable NAME REPORT`. Standard library only. It never fails the job: the gate's
verdict is the job's status; a report that cannot be posted says why and what to set.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from torchlane.ci.common import REPORT_MARKER


def _call(url: str, token: str, method: str = "GET", data: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        method=method,
        headers={"PRIVATE-TOKEN": token, "Content-Type": "application/json"},
        data=json.dumps(data).encode() if data is not None else None,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def post_note(report: Path, token_variable: str, environ: dict[str, str]) -> str:
    """Create or update the note; returns one line saying what happened."""
    token = environ.get(token_variable, "")
    if not token:
        return (
            f"The report was not posted: the CI/CD variable {token_variable} is not set. "
            "Set it to a project access token with the api scope (masked); "
            "see docs/ci.md."
        )
    if not report.is_file():
        return f"The report was not posted: {report} was not written (see the job log above)."
    missing = [
        v for v in ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID") if not environ.get(v)
    ]
    if missing:
        return f"The report was not posted: {', '.join(missing)} not set (not a merge request?)."
    api = (
        f"{environ['CI_API_V4_URL']}/projects/{environ['CI_PROJECT_ID']}"
        f"/merge_requests/{environ['CI_MERGE_REQUEST_IID']}/notes"
    )
    text = report.read_text(encoding="utf-8")
    body = text if REPORT_MARKER in text else f"{REPORT_MARKER}\n{text}"
    try:
        notes = _call(f"{api}?per_page=100", token)
        mine = next((n for n in notes if REPORT_MARKER in n.get("body", "")), None)
        if mine is not None:
            _call(f"{api}/{mine['id']}", token, "PUT", {"body": body})
            return f"Updated the report note {mine['id']} on the merge request."
        created = _call(api, token, "POST", {"body": body})
        return f"Posted the report as note {created.get('id')} on the merge request."
    except urllib.error.HTTPError as error:
        fix = (
            f" The token in {token_variable} needs the api scope and at least the Reporter role."
            if error.code in (401, 403)
            else ""
        )
        return f"The report was not posted: GitLab answered {error.code} {error.reason}.{fix}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"The report was not posted: {error}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m torchlane.ci.gitlab_note")
    parser.add_argument("--token-variable", default="TORCHLANE_GITLAB_TOKEN")
    parser.add_argument("report", type=Path)
    args = parser.parse_args(argv)
    print(post_note(args.report, args.token_variable, dict(os.environ)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
