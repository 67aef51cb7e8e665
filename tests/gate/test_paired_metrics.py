"""Every gated metric paired, the whole gate's error rate, directions, NaN, percent scales."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.metrics.helpers import IDS, accuracy_record, correct_pattern
from torchlane.evaluate.resample import (
    build_replicates,
    replicates_of_mean,
    resample_indices,
)
from torchlane.gate.rules import adjust, direction_from_name, judge_metric
from torchlane.gate.settings import GateConfig, MetricRule
from torchlane.gate.stats import (
    binom_cdf,
    binom_sf,
    clopper_pearson,
    detectable_drop,
    examples_needed,
    holm,
)
from torchlane.metrics.record import EvaluationRecord, PerExample

GATE = GateConfig(bootstrap_resamples=1000, seed=7)

LOWER = ["val/loss", "eval/loss", "valLoss", "nll", "cross_entropy", "logloss", "ppl",
         "perplexity", "ece", "brier", "mape", "mae", "mse", "rmse", "fid", "wer", "cer",
         "error", "latency", "accuracy_loss", "val.NLL", "test-CrossEntropy", "top1_err", "brier_score"]  # fmt: skip
HIGHER = ["accuracy", "val/acc", "macro_f1", "top5Acc", "eval.bleu", "mAP", "roc-auc", "recall"]


@pytest.mark.parametrize("name", LOWER)
def test_lower_is_better_names_in_any_style(name: str) -> None:
    assert direction_from_name(name) == "lower"


@pytest.mark.parametrize("name", HIGHER)
def test_higher_is_better_names(name: str) -> None:
    assert direction_from_name(name) == "higher"


@pytest.mark.parametrize("name", ["foo", "score", "val/thing", "epoch"])
def test_unknown_or_contradictory_names_have_no_direction(name: str) -> None:
    assert direction_from_name(name) is None


@given(
    prefix=st.sampled_from(["val", "eval", "test", "train"]),
    word=st.sampled_from(["loss", "nll", "ppl", "mse", "wer"]),
    sep=st.sampled_from(["/", "_", "-", ".", "camel"]),
)
def test_separator_style_does_not_change_the_direction(prefix: str, word: str, sep: str) -> None:
    name = prefix + word.capitalize() if sep == "camel" else prefix + sep + word
    assert direction_from_name(name) == "lower"


def _judge(base: EvaluationRecord, cand: EvaluationRecord, rule: MetricRule, name: str):
    return adjust([judge_metric(name, rule, base, cand, GATE)], GATE.confidence)[0]


def _losses(commit: str, losses: list[float], name: str = "val/loss") -> EvaluationRecord:
    finite = [v for v in losses if math.isfinite(v)]
    return EvaluationRecord(
        commit, {name: sum(finite) / len(finite)},
        per_example=PerExample("score", tuple(losses), IDS, False, metric=name),
    )  # fmt: skip


def test_unruled_loss_name_is_lower_is_better() -> None:
    rng = random.Random(1)
    base = [0.3 + rng.uniform(-0.05, 0.05) for _ in range(500)]
    rule = MetricRule(required=False)  # no direction configured: read from "val/loss"
    worse = _judge(
        _losses("b" * 40, base), _losses("c" * 40, [v + 0.3 for v in base]), rule, "val/loss"
    )
    better = _judge(
        _losses("b" * 40, base), _losses("c" * 40, [v - 0.1 for v in base]), rule, "val/loss"
    )
    assert (worse.direction, worse.verdict) == ("lower", "fail")
    assert better.verdict == "pass"


def test_an_unknown_direction_is_an_explicit_outcome() -> None:
    base = accuracy_record("b" * 40, correct_pattern(100, {1}), extra_metrics={"zork": 1.0})
    cand = accuracy_record("c" * 40, correct_pattern(100, {1}), extra_metrics={"zork": 2.0})
    verdict = _judge(base, cand, MetricRule(max_drop=0.1), "zork")
    assert verdict.verdict == "unknown direction"
    assert "does not guess" in verdict.reason


def test_one_nan_among_per_example_losses_fails() -> None:
    base = [0.3] * 100
    cand = [0.5] * 99 + [math.nan]
    verdict = _judge(_losses("b" * 40, base), _losses("c" * 40, cand),
                     MetricRule(direction="lower", max_drop=0.01), "val/loss")  # fmt: skip
    assert verdict.verdict == "fail"
    assert "NaN" in verdict.reason


def test_a_nan_hidden_in_unnamed_per_example_losses_fails() -> None:
    # The project's metric skipped the NaN (nanmean); the per-example results still carry it.
    base = EvaluationRecord(
        "b" * 40, {"loss": 0.3}, per_example=PerExample("score", (0.3,) * 10, IDS, False)
    )
    cand = EvaluationRecord(
        "c" * 40,
        {"loss": 0.5},
        per_example=PerExample("score", (0.5,) * 9 + (math.nan,), IDS, False),
    )
    verdict = _judge(base, cand, MetricRule(max_drop=1.0), "loss")
    assert verdict.verdict == "fail"
    assert "1 of the per-example results are NaN" in verdict.reason


def test_accuracy_in_percent_pairs_with_zero_one_results() -> None:
    base_values = correct_pattern(2000, set(range(200)))
    cand_values = correct_pattern(2000, set(range(50, 350)))  # −5 points
    base = accuracy_record("b" * 40, base_values)
    cand = accuracy_record("c" * 40, cand_values)
    pct = [
        EvaluationRecord(r.commit, {"accuracy": r.metrics["accuracy"] * 100},
                         per_example=PerExample("correct", r.per_example.values, IDS))  # type: ignore[union-attr]
        for r in (base, cand)
    ]  # fmt: skip
    rule = MetricRule(direction="higher", max_drop=1.0)  # one point, in percent units
    verdict = _judge(pct[0], pct[1], rule, "accuracy")
    assert verdict.test == "mcnemar-exact"
    assert verdict.verdict == "fail"
    assert verdict.interval is not None
    assert -8 < verdict.interval[0] < -5 < verdict.interval[1] < -1  # in points
    same = _judge(pct[0], pct[0], rule, "accuracy")
    assert same.verdict == "pass"
    assert "no per-example results" not in same.reason


def _macro_f1(predictions: list[int], targets: list[int]) -> float:
    scores = []
    for label in sorted(set(targets)):
        tp = sum(1 for p, t in zip(predictions, targets, strict=True) if p == t == label)
        predicted = sum(1 for p in predictions if p == label)
        actual = sum(1 for t in targets if t == label)
        scores.append(2 * tp / (predicted + actual) if tp else 0.0)
    return sum(scores) / len(scores)


def _f1_record(commit: str, predictions: list[int], targets: list[int]) -> EvaluationRecord:
    n, count = len(targets), 300
    reps = []
    for start in range(0, count, 50):
        for row in resample_indices(n, IDS, start, min(count, start + 50)):
            reps.append(_macro_f1([predictions[i] for i in row], [targets[i] for i in row]))
    value = _macro_f1(predictions, targets)
    replicates = build_replicates({"macro_f1": tuple(reps)}, {"macro_f1": value}, n, IDS)
    return EvaluationRecord(commit, {"macro_f1": value}, replicates=replicates)


def test_macro_f1_gets_a_paired_bootstrap_from_shared_resamples() -> None:
    rng = random.Random(3)
    targets = [rng.randrange(5) for _ in range(600)]
    good = [t if rng.random() < 0.9 else rng.randrange(5) for t in targets]
    # a seed-like change: as many examples fixed as broken (9 each of 600)
    wrong = [i for i in range(600) if good[i] != targets[i]]
    right = [i for i in range(600) if good[i] == targets[i]]
    reseeded = list(good)
    for i in wrong[:9]:
        reseeded[i] = targets[i]
    for i in right[:9]:
        reseeded[i] = (targets[i] + 1) % 5
    worse = [p if rng.random() < 0.85 else (p + 1) % 5 for p in good]  # many new errors
    rule = MetricRule(direction="higher", max_drop=0.01)
    base = _f1_record("b" * 40, good, targets)
    noise = _judge(base, _f1_record("c" * 40, reseeded, targets), rule, "macro_f1")
    drop = _judge(base, _f1_record("c" * 40, worse, targets), rule, "macro_f1")
    assert (noise.test, drop.test) == ("paired-bootstrap", "paired-bootstrap")
    assert noise.verdict == "pass"
    assert drop.verdict == "fail"
    assert drop.spread is not None


def test_replicates_round_trip_through_a_note_line() -> None:
    record = _f1_record("b" * 40, [0, 1, 2, 1] * 25, [0, 1, 1, 1] * 25)
    again = EvaluationRecord.from_line(record.to_line())
    assert again.replicates is not None
    assert record.replicates is not None
    for a, b in zip(
        again.replicates.metrics["macro_f1"], record.replicates.metrics["macro_f1"], strict=True
    ):
        assert a == pytest.approx(b, abs=2e-4)
    assert len(record.to_line()) < 300 * 2 * 1.4 + 1500  # about 2 bytes per resample


def test_resamples_depend_only_on_the_examples_not_on_blocks() -> None:
    whole = resample_indices(37, IDS, 0, 20)
    parts = [resample_indices(37, IDS, s, s + 5) for s in range(0, 20, 5)]
    assert [list(r) for p in parts for r in p] == [list(r) for r in whole]
    assert whole.min() >= 0
    assert whole.max() < 37
    other = resample_indices(37, "ids-" + "b" * 60, 0, 20)
    assert [list(r) for r in other] != [list(r) for r in whole]
    values = [float(i % 3) for i in range(37)]
    means = replicates_of_mean(values, 20, IDS)
    assert means[3] == pytest.approx(sum(values[i] for i in whole[3]) / 37)


def test_holm_adjusts_like_the_textbook() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []


def test_two_metrics_each_borderline_pass_together_but_fail_alone() -> None:
    # Two metrics whose one-sided p-values are both near 0.02: alone each fails at 2.5 %;
    # Holm over both compares the smaller with 1.25 % and passes both.
    base = correct_pattern(2000, set(range(100)))
    cand = correct_pattern(2000, set(range(30, 162)))  # 92 worse, 30 better
    rule = MetricRule(direction="higher", max_drop=0.0)
    records = (accuracy_record("b" * 40, base), accuracy_record("c" * 40, cand))
    one = judge_metric("accuracy", rule, *records, GATE)
    assert one.p_value is not None
    assert 0.0125 < one.p_value < 0.025 or one.p_value < 0.0125
    alone = adjust([one], GATE.confidence)[0]
    together = adjust([one, one], GATE.confidence)
    assert alone.verdict == "fail"
    expected = "fail" if 2 * one.p_value < 0.025 else "pass"
    assert {v.verdict for v in together} == {expected}


def _exact_sf(k: int, n: int, p: Fraction) -> float:
    return float(sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


@given(n=st.integers(1, 60), data=st.data(), p=st.fractions(Fraction(1, 1000), Fraction(999, 1000)))
@settings(max_examples=120, deadline=None)
def test_both_tail_paths_match_an_exact_rational_reference(
    n: int, data: st.DataObject, p: Fraction
) -> None:
    k = data.draw(st.integers(0, n))
    expected_sf = _exact_sf(k, n, p)
    expected_cdf = 1.0 - _exact_sf(k + 1, n, p) if k < n else 1.0
    for pure in (True, False):
        assert binom_sf(k, n, float(p), pure=pure) == pytest.approx(
            expected_sf, rel=1e-9, abs=1e-300
        )
        assert binom_cdf(k, n, float(p), pure=pure) == pytest.approx(
            expected_cdf, rel=1e-9, abs=1e-15
        )


@given(n=st.integers(1, 3000), data=st.data())
@settings(max_examples=60, deadline=None)
def test_clopper_pearson_paths_agree(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    fast, pure = clopper_pearson(k, n, 0.95), clopper_pearson(k, n, 0.95, pure=True)
    assert fast == pytest.approx(pure, abs=1e-9)


def test_exact_interval_at_a_million_discordant_pairs() -> None:
    fast = clopper_pearson(500_300, 1_000_000, 0.95)
    pure = clopper_pearson(500_300, 1_000_000, 0.95, pure=True)
    assert fast == pytest.approx(pure, abs=1e-10)
    assert fast[0] < 0.5003 < fast[1]


def test_power_grows_with_examples_and_needed_n_inverts_it() -> None:
    small = detectable_drop(450, 0.005, 0.025, 0.8, discordance=0.03)
    large = detectable_drop(4000, 0.005, 0.025, 0.8, discordance=0.03)
    assert small is not None
    assert large is not None
    assert 0.005 < large < small < 0.03
    needed = examples_needed(small, 0.005, 0.025, 0.8, discordance=0.03)
    assert needed is not None
    assert 300 < needed < 600  # about the 450 we started from
    # normal approximation for other metrics: 1/sqrt(n)
    a = detectable_drop(400, 0.0, 0.025, 0.8, spread=0.2)
    b = detectable_drop(1600, 0.0, 0.025, 0.8, spread=0.2)
    assert a is not None
    assert b is not None
    assert a == pytest.approx(2 * b)
