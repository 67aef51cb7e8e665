"""The merge gate: which baseline, the rules per metric, the paired statistics, the decision."""
