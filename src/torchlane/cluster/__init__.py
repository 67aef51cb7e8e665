"""Hand torchlane's jobs to Kubernetes: Jobs, Kubeflow PyTorchJobs and team quotas, as manifests."""
