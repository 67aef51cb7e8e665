"""The gate's verdicts on constructed per-example results whose right answer is known."""

from __future__ import annotations

import math

import pytest

from tests.metrics.helpers import IDS, accuracy_record, correct_pattern, plain_record
from torchlane.gate.rules import adjust, default_rule, judge_metric
from torchlane.gate.settings import GateConfig, MetricRule
from torchlane.metrics.record import EvaluationRecord, PerExample

GATE = GateConfig(bootstrap_resamples=1000, seed=7)
ACCURACY = MetricRule(direction="higher", max_drop=0.01)


def judge(
    base: EvaluationRecord,
    cand: EvaluationRecord,
    rule: MetricRule = ACCURACY,
    name: str = "accuracy",
):
    return adjust([judge_metric(name, rule, base, cand, GATE)], GATE.confidence)[0]


def test_identical_models_pass() -> None:
    values = correct_pattern(2000, set(range(0, 2000, 9)))
    verdict = judge(accuracy_record("b" * 40, values), accuracy_record("c" * 40, values))
    assert verdict.verdict == "pass"
    assert verdict.test == "mcnemar-exact"
    assert verdict.change == 0.0


def test_five_percent_more_errors_on_2000_examples_fails() -> None:
    base = correct_pattern(2000, set(range(200)))
    cand = correct_pattern(2000, set(range(50, 350)))  # 150 new errors, 50 fixed: −5 points
    verdict = judge(accuracy_record("b" * 40, base), accuracy_record("c" * 40, cand))
    assert verdict.verdict == "fail"
    assert verdict.change == pytest.approx(-0.05)
    assert verdict.interval is not None
    assert verdict.interval[1] < -0.01
    assert verdict.p_value is not None
    assert verdict.p_value < 0.025
    assert "credible drop" in verdict.reason


def test_small_drop_inside_the_tolerance_passes() -> None:
    base = correct_pattern(2000, set(range(100)))
    cand = correct_pattern(2000, set(range(104)))  # 0.2 points worse, tolerance 1 point
    verdict = judge(accuracy_record("b" * 40, base), accuracy_record("c" * 40, cand))
    assert verdict.verdict == "pass"
    assert verdict.change == pytest.approx(-0.002)
    assert "within the allowed drop" in verdict.reason


def test_small_sample_drop_that_is_not_credible_passes_and_says_why() -> None:
    base = correct_pattern(40, {0, 1})
    cand = correct_pattern(40, {0, 1, 2, 3, 4})  # 7.5 points worse, but only 3 examples differ
    verdict = judge(accuracy_record("b" * 40, base), accuracy_record("c" * 40, cand))
    assert verdict.verdict == "pass"
    assert verdict.change == pytest.approx(-0.075)
    assert "not credible" in verdict.reason
    assert verdict.p_value is not None
    assert verdict.p_value > 0.025


def test_without_per_example_results_the_point_values_decide_and_say_so() -> None:
    base, cand = (
        plain_record("b" * 40, {"accuracy": 0.90}),
        plain_record("c" * 40, {"accuracy": 0.885}),
    )
    assert judge(base, cand).verdict == "unpaired"  # not gated unless the rule opts in
    opted = MetricRule(direction="higher", max_drop=0.01, gate_unpaired=True)
    verdict = judge(base, cand, opted)
    assert (verdict.verdict, verdict.test) == ("fail", "point")
    assert "point comparison" in verdict.reason
    assert judge(base, plain_record("c" * 40, {"accuracy": 0.895}), opted).verdict == "pass"


def _loss_record(commit: str, losses: list[float]) -> EvaluationRecord:
    return EvaluationRecord(
        commit=commit,
        metrics={"loss": sum(losses) / len(losses)},
        per_example=PerExample("score", tuple(losses), IDS, higher_is_better=False, metric="loss"),
    )


def test_lower_is_better_metric_uses_the_paired_bootstrap() -> None:
    rule = MetricRule(direction="lower", max_drop=0.02)
    base = [0.5 + 0.01 * (i % 13) for i in range(500)]
    worse = judge(
        _loss_record("b" * 40, base), _loss_record("c" * 40, [x + 0.1 for x in base]), rule, "loss"
    )
    better = judge(
        _loss_record("b" * 40, base), _loss_record("c" * 40, [x - 0.1 for x in base]), rule, "loss"
    )
    assert (worse.verdict, worse.test) == ("fail", "paired-bootstrap")
    assert worse.interval is not None
    assert worse.interval[0] > 0.02  # candidate − baseline, credibly above the allowed rise
    assert better.verdict == "pass"


@pytest.mark.parametrize(
    ("rule", "value", "verdict"),
    [
        (MetricRule(floor=0.95, max_drop=1.0), 0.9, "fail"),
        (MetricRule(direction="higher", floor=0.85, max_drop=1.0, gate_unpaired=True), 0.9, "pass"),
        (MetricRule(direction="lower", ceiling=0.3, max_drop=1.0), 0.35, "fail"),
        (
            MetricRule(direction="lower", ceiling=0.4, max_drop=1.0, gate_unpaired=True),
            0.35,
            "pass",
        ),
    ],
)
def test_floors_and_ceilings(rule: MetricRule, value: float, verdict: str) -> None:
    result = judge(
        plain_record("b" * 40, {"m": value}), plain_record("c" * 40, {"m": value}), rule, "m"
    )
    assert result.verdict == verdict
    if verdict == "fail":
        assert result.test == "threshold"


def test_relative_and_absolute_tolerances_both_hold() -> None:
    # 1 % of 0.8 = 0.008 is the tighter
    rule = MetricRule(direction="higher", max_drop=0.05, max_relative_drop=0.01, gate_unpaired=True)
    base = plain_record("b" * 40, {"m": 0.8})
    assert judge(base, plain_record("c" * 40, {"m": 0.79}), rule, "m").verdict == "fail"
    assert judge(base, plain_record("c" * 40, {"m": 0.793}), rule, "m").verdict == "pass"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_never_pass(bad: float) -> None:
    good = plain_record("b" * 40, {"accuracy": 0.9})
    broken = plain_record("c" * 40, {"accuracy": bad})
    assert judge(good, broken).verdict == "fail"
    assert judge(broken, good).verdict == "fail"
    assert "not a number" in judge(good, broken).reason


def test_missing_values_fail_when_required_and_are_reported_otherwise() -> None:
    base, cand = plain_record("b" * 40, {"accuracy": 0.9}), plain_record("c" * 40, {})
    assert judge(base, cand).verdict == "fail"
    optional = MetricRule(required=False)
    assert judge(base, cand, optional).verdict == "not judged"


def test_per_example_results_of_another_metric_are_not_used() -> None:
    values = correct_pattern(100, {1})
    base = accuracy_record("b" * 40, values, extra_metrics={"f1": 0.5})
    cand = accuracy_record("c" * 40, values, extra_metrics={"f1": 0.4})
    verdict = judge(base, cand, MetricRule(max_drop=0.05), "f1")
    assert (verdict.test, verdict.verdict) == ("none", "unpaired")
    assert "make up another metric" in verdict.reason


def test_unnamed_per_example_results_pair_with_the_metric_equal_to_their_mean() -> None:
    values = correct_pattern(100, {1, 2})
    pe = PerExample("correct", values, IDS)
    base = EvaluationRecord("b" * 40, {"accuracy": 0.98, "f1": 0.5}, per_example=pe)
    cand = EvaluationRecord("c" * 40, {"accuracy": 0.98, "f1": 0.5}, per_example=pe)
    assert judge(base, cand).test == "mcnemar-exact"
    assert judge(base, cand, MetricRule(), "f1").verdict == "unpaired"


def test_default_rules_guess_direction_from_the_name() -> None:
    assert default_rule("val_loss").direction == "lower"
    assert default_rule("word_error_rate").direction == "lower"
    assert default_rule("accuracy").direction == "higher"
