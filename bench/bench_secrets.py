"""The secret scan stays linear on hostile text: a line of 40,000 `token=` (every one a name, an
operator and a long bare value) must cost at most 2.5x the same line of 20,000, and ordinary code
at most 2.5x when doubled. Each pair is measured in the same run, so the ratio is the growth of
the work, not the speed of this machine (quadratic growth would show 4x)."""

from __future__ import annotations

from bench.common import BenchResult, best_time
from torchlane.secrets.scan import ScanSettings, scan_text

SETTINGS = ScanSettings()
HOSTILE = {
    "token= run": "token=",
    "unclosed quotes": 'api_token: "',
    "one long name": "key",
    "Jupyter options": "--ServerApp.token=",
}
CODE = (
    'import os\napi_url = "https://example.org"\nmodel.load_state_dict(torch.load(path))\n'
    'config = {"lr": 0.1, "token_budget": 4096, "secret_sauce": None}\n'
)


def _growth(unit: str, count: int) -> tuple[float, float]:
    small, large = unit * count, unit * (2 * count)
    return (
        best_time(lambda: scan_text(large, "x", SETTINGS), 3),
        best_time(lambda: scan_text(small, "x", SETTINGS), 3),
    )


def run() -> list[BenchResult]:
    results = []
    for name, unit in HOSTILE.items():
        large, small = _growth(unit, 20_000)
        results.append(BenchResult(f"secrets scan, {name} x2", large, small, "x1", 2.5))
    large, small = _growth(CODE, 2_000)
    results.append(BenchResult("secrets scan, ordinary code x2", large, small, "x1", 2.5))
    return results
