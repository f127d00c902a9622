"""``maintbot sandbox ...``: serve the fake GitHub REST API from the command line."""

from __future__ import annotations

import threading
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from bot.errors import UsageError
from bot.sandbox.server import Sandbox

KEY_HINT = "pass the GitHub App's private key file (PEM), or its public key"


def public_key_pem(path: Path) -> str:
    """The App's public key from a PEM file holding either half of the key pair."""
    data = path.read_bytes()
    try:
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, RSAPrivateKey):
                raise UsageError(f"{path} is not an RSA key; GitHub Apps sign with RS256")
            public = private.public_key()
        else:
            loaded = serialization.load_pem_public_key(data)
            if not isinstance(loaded, RSAPublicKey):
                raise UsageError(f"{path} is not an RSA key; GitHub Apps sign with RS256")
            public = loaded
    except ValueError as exc:
        raise UsageError(f"{path} is not a PEM key: {exc}", hint=KEY_HINT) from exc
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@click.group(name="sandbox")
def sandbox() -> None:
    """A fake GitHub REST API on loopback, for tests, demos and benchmarks.

    It holds repositories, issues, pull requests, comments, labels, commits and check runs in
    memory, answers in GitHub's JSON shapes, counts API calls per route
    (GET /_sandbox/requests) and can inject faults (POST /_sandbox/faults).
    """


@sandbox.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    envvar="MAINTBOT_SANDBOX_PORT",
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; keep the loopback unless you know why not.",
)
@click.option(
    "--data",
    default="demo",
    show_default=True,
    envvar="MAINTBOT_SANDBOX_DATA",
    help="Seed: a directory, a .json or .jsonl file (see bot/sandbox/README.md), or 'demo'.",
)
@click.option("--app-id", type=int, default=None, help="GitHub App id whose JWTs to accept.")
@click.option(
    "--app-key-pem",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The App's key (private or public PEM) used to verify its JWTs.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(1),
    default=5000,
    show_default=True,
    help="Requests per hour per token before the sandbox answers 403 rate limited.",
)
def serve(
    port: int,
    host: str,
    data: str,
    app_id: int | None,
    app_key_pem: Path | None,
    rate_limit: int,
) -> None:
    """Serve the sandbox until Ctrl-C; prints its base URL first."""
    if (app_id is None) != (app_key_pem is None):
        raise UsageError(
            "--app-id and --app-key-pem go together",
            hint="give both to enable GitHub App authentication, or neither",
        )
    public = public_key_pem(app_key_pem) if app_key_pem else None
    sb = Sandbox(data=data, app_id=app_id, app_public_key_pem=public, rate_limit=rate_limit)
    if app_id is not None and not sb.state.installations:  # install the App everywhere
        for owner in sorted({repo["owner"] for repo in sb.state.repos.values()}):
            sb.state.add_installation(account=owner)
    sb.start(port=port, host=host)
    click.echo(sb.base_url)
    click.echo(
        f"# sandbox GitHub serving {len(sb.state.repos)} repositories; "
        f"point clients at it with GITHUB_API_URL={sb.base_url}. Ctrl-C stops it.",
        err=True,
    )
    stop = threading.Event()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        click.echo("# sandbox stopped", err=True)
    finally:
        sb.stop()
