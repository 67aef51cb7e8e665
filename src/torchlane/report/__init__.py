"""Reports of the gate's decision: markdown for pull requests, JSON, charts, TensorBoard, sinks."""
