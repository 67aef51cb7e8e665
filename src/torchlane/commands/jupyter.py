"""jupyter [lab|notebook]."""

from __future__ import annotations

import os

import click


@click.command("jupyter", context_settings={"ignore_unknown_options": True})
@click.argument("app", type=click.Choice(["lab", "notebook", "server"]), default="lab")
@click.option("--ip", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=8888, show_default=True)
@click.option("--new-token", is_flag=True, help="Replace the stored token with a new one.")
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Start with authentication disabled (only on 127.0.0.1).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow an --ip other machines can reach (they still need the token).",
)
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def jupyter_command(
    *,
    app: str,
    ip: str | None,
    port: int,
    new_token: bool,
    insecure_no_auth: bool,
    allow_remote: bool,
    extra: tuple[str, ...],
) -> None:
    """Start Jupyter (lab, notebook or the bare server) on localhost with a private token.

    The token comes from JUPYTER_TOKEN, else from a file only you can read
    ($XDG_STATE_HOME/torchlane/jupyter-token, created on first use). Arguments after `--`
    go to Jupyter.
    """
    from torchlane.notebooks.jupyter import launch, plan_launch

    plan = plan_launch(
        app,
        ip=ip,
        port=port,
        extra_args=list(extra),
        environ=os.environ,
        insecure_no_auth=insecure_no_auth,
        new_token=new_token,
        allow_remote=allow_remote,
    )
    launch(plan)
