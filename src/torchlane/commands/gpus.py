"""torchlane gpus."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from torchlane import render
from torchlane.commands.options import json_option, with_project

if TYPE_CHECKING:
    from torchlane.project import Project


@click.command("gpus")
@with_project(required=False)  # a machine command: it works in any directory
@json_option
def gpus_command(project: Project, as_json: bool) -> int:
    """Show which GPUs are busy, by which process, user and container (exit 0 without GPUs).

    With [tool.torchlane.team] declared, members using GPUs outside their quota are flagged
    (and the exit code is 1)."""
    from torchlane.team.gpus import gpu_usage, load_nvml
    from torchlane.team.quotas import team_plan

    usage = gpu_usage(load_nvml(), team_plan(project.loaded))
    if as_json:
        render.print_json(usage)
    elif not usage.available:
        render.say(f"No GPUs: {usage.reason}.")
    else:
        rows = []
        for device in usage.devices:
            memory = f"{device.memory_used_mib / 1024:.1f}/{device.memory_total_mib / 1024:.0f} GiB"
            busy = "-" if device.utilization_percent is None else f"{device.utilization_percent}%"
            head = [str(device.index), device.name, memory, busy]
            if not device.processes:
                rows.append([*head, "idle", "", "", "", ""])
            for process in device.processes:
                who = process.member or ""
                if process.outside_quota:
                    who += " OUTSIDE QUOTA"
                used = "?" if process.memory_mib is None else f"{process.memory_mib} MiB"
                rows.append([*head, str(process.pid), used, process.user or "?",
                             process.container or "host", who])  # fmt: skip
                head = ["", "", "", ""]
        columns = ["GPU", "Name", "Memory", "Util", "PID", "Uses", "User", "Container", "Member"]
        render.print_table(None, columns, rows)
        for line in [*usage.warnings, *usage.outside_quota]:
            render.say(f"warning: {line}", stderr=True)
    return 1 if usage.outside_quota else 0
