"""The pod every cluster job runs: clone the repository at one commit, then run one command.

An init container clones the remote and checks out the exact commit into an emptyDir the main
container shares; the notes (metrics, run manifests) and base branches come along so that
`torchlane gate` can choose its baseline and `torchlane metrics push` can share results.
Credentials come from Secrets by reference: the manifest names a Secret, never holds a value.
"""

from __future__ import annotations

from typing import Any

from torchlane.ci.common import ENSURE_GIT, git_setup_commands, install_commands
from torchlane.cluster.target import Target
from torchlane.config.settings import TorchlaneConfig

WORKSPACE = "/workspace"
WORKDIR = f"{WORKSPACE}/repo"
GIT_SECRET_DIR = "/var/run/torchlane/git"
CHECKOUT_CONTAINER = "checkout"

Manifest = dict[str, Any]
# The pods run as a user the image may not know (never root): HOME in the writable workspace lets
# git and `pip install --user` (site-packages belong to root) keep their files somewhere.
HOME = ({"name": "HOME", "value": WORKSPACE},)


def _git_environment(config: TorchlaneConfig) -> list[Manifest]:
    """git settings through GIT_CONFIG_* variables: nothing is written to a home directory,
    which may be read-only or shared in the image."""
    settings = [("safe.directory", "*")]
    env: list[Manifest] = []
    credentials = config.cluster.git_credentials
    if credentials is not None:
        path = f"{GIT_SECRET_DIR}/{credentials.secret_key}"
        if credentials.kind == "https":
            settings.append(("credential.helper", f"store --file={path}"))
        else:
            env.append(
                {
                    "name": "GIT_SSH_COMMAND",
                    "value": f"ssh -i {path} -o IdentitiesOnly=yes "
                    "-o StrictHostKeyChecking=accept-new",
                }
            )
    env.append({"name": "GIT_CONFIG_COUNT", "value": str(len(settings))})
    for index, (key, value) in enumerate(settings):
        env.append({"name": f"GIT_CONFIG_KEY_{index}", "value": key})
        env.append({"name": f"GIT_CONFIG_VALUE_{index}", "value": value})
    return env


def target_environment(target: Target) -> list[Manifest]:
    env = [
        {"name": "TORCHLANE_REPOSITORY", "value": target.repository},
        {"name": "TORCHLANE_COMMIT", "value": target.commit},
        {"name": "TORCHLANE_WORKDIR", "value": WORKDIR},
    ]
    if target.branch:
        env.append({"name": "TORCHLANE_BRANCH", "value": target.branch})
    return env


def checkout_script(config: TorchlaneConfig, target: Target) -> str:
    """Shell run by the init container. Values arrive as environment variables, never pasted
    into the script, so a branch name with shell characters stays a name."""
    return "\n".join(
        [
            "set -eu",
            ENSURE_GIT,
            'git clone --quiet --no-checkout "$TORCHLANE_REPOSITORY" "$TORCHLANE_WORKDIR"',
            'cd "$TORCHLANE_WORKDIR"',
            'git checkout --quiet --detach "$TORCHLANE_COMMIT"',
            *git_setup_commands(config, "$TORCHLANE_BRANCH" if target.branch else None),
            'echo "torchlane: checked out $(git rev-parse HEAD)"',
        ]
    )


def install_script(config: TorchlaneConfig) -> list[str]:
    return install_commands(config)


def shell_command(script: list[str], arguments: tuple[str, ...] = ()) -> list[str]:
    """`sh -c SCRIPT NAME ARGS...`: the user's command reaches the script as "$@", unquoted
    by no one, whatever characters it holds."""
    return ["sh", "-c", "\n".join(["set -eu", *script]), "torchlane", *arguments]


def _resources(config: TorchlaneConfig) -> Manifest:
    cluster, accelerator = config.cluster, config.env.accelerator
    requests, limits = cluster.resources()
    gpus = cluster.gpus_for(accelerator)
    if gpus:
        # Extended resources are not overcommitted: request and limit must be equal.
        resource = cluster.gpu_resource_for(accelerator)
        requests[resource] = limits[resource] = str(gpus)
    resources: Manifest = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return resources


# The "restricted" Pod Security Standard, which namespaces may enforce: no root, no privilege
# escalation, no Linux capabilities, the runtime's default seccomp profile.
def pod_security(config: TorchlaneConfig) -> Manifest:
    cluster = config.cluster
    return {
        "runAsNonRoot": True,
        "runAsUser": cluster.run_as_user,
        "runAsGroup": cluster.run_as_group,
        # The workspace emptyDir belongs to this group, so the (non-root) user can write it.
        "fsGroup": cluster.run_as_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _container_security() -> Manifest:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def pod_template(
    config: TorchlaneConfig,
    target: Target,
    *,
    labels: dict[str, str],
    container: str,
    command: list[str],
    image: str,
) -> Manifest:
    """A PodTemplateSpec. restartPolicy is left to the caller (Job and PyTorchJob differ)."""
    cluster = config.cluster
    git_env = _git_environment(config)
    mounts: list[Manifest] = [{"name": "workspace", "mountPath": WORKSPACE}]
    volumes: list[Manifest] = [{"name": "workspace", "emptyDir": {}}]
    if cluster.git_credentials is not None:
        mounts.append({"name": "git-credentials", "mountPath": GIT_SECRET_DIR, "readOnly": True})
        volumes.append(
            {
                "name": "git-credentials",
                # 0400: ssh refuses a private key others can read.
                "secret": {"secretName": cluster.git_credentials.name, "defaultMode": 0o400},
            }
        )
    secrets = [
        {"name": s.env, "valueFrom": {"secretKeyRef": {"name": s.name, "key": s.key}}}
        for s in cluster.secrets
    ]
    main: Manifest = {
        "name": container,
        "image": image,
        "workingDir": WORKDIR,
        "command": command,
        "env": [
            *target_environment(target),
            *HOME,
            {"name": "PYTHONUNBUFFERED", "value": "1"},
            *git_env,
            *secrets,
        ],
        "resources": _resources(config),
        "securityContext": _container_security(),
        "volumeMounts": [*mounts, {"name": "dshm", "mountPath": "/dev/shm"}],
    }
    checkout: Manifest = {
        "name": CHECKOUT_CONTAINER,
        "image": cluster.checkout_image or image,
        "command": ["sh", "-c", checkout_script(config, target)],
        "env": [*target_environment(target), *HOME, *git_env],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}},
        "securityContext": _container_security(),
        "volumeMounts": mounts,
    }
    spec: Manifest = {
        "securityContext": pod_security(config),
        "initContainers": [checkout],
        "containers": [main],
        "volumes": [
            *volumes,
            # DataLoader workers share tensors through /dev/shm; the runtime's default is 64 MB.
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": cluster.shm_size}},
        ],
    }
    if cluster.service_account:
        spec["serviceAccountName"] = cluster.service_account
    if cluster.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in cluster.image_pull_secrets]
    if cluster.node_selector:
        spec["nodeSelector"] = dict(cluster.node_selector)
    if cluster.tolerations:
        spec["tolerations"] = [t.manifest() for t in cluster.tolerations]
    return {
        "metadata": {
            "labels": dict(labels),
            "annotations": {"kubectl.kubernetes.io/default-container": container},
        },
        "spec": spec,
    }
