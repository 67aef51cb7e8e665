"""Model evaluation: the ready harness, project entry points, checkpoints and the evaluation cache."""

# torchlane.config plugs our EvalConfig into TorchlaneConfig, and EvalConfig subclasses its
# Section: loading torchlane.config first resolves that cycle whichever module is imported first.
import torchlane.config  # noqa: F401
