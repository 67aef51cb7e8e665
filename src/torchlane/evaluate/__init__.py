"""Model evaluation: the ready harness, project entry points, checkpoints and the evaluation cache."""
