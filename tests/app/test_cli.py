"""``maintbot serve``: clear errors for missing settings, re-queueing, and a real server process."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.app.cli import serve
from bot.app.queue import DeliveryQueue
from bot.app.settings import AppSettings
from bot.cli import cli
from bot.errors import UsageError
from bot.settings import Settings
from bot.store.database import Store
from bot.store.deliveries import get_delivery, mark_delivery, record_delivery
from bot.store.models import DeliveryStatus

APP_ENV = (
    "MAINTBOT_WEBHOOK_SECRET",
    "MAINTBOT_APP_ID",
    "MAINTBOT_APP_PRIVATE_KEY",
    "MAINTBOT_APP_PRIVATE_KEY_FILE",
    "MAINTBOT_REDIS_URL",
    "MAINTBOT_QUEUE_FILE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in APP_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAINTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    monkeypatch.setenv("MAINTBOT_QUEUE_FILE", str(tmp_path / "queue.sqlite3"))


def run_serve(*args: str, settings: Settings | None = None) -> None:
    serve.main(list(args), obj=settings or Settings(), standalone_mode=False)


def test_the_receiver_refuses_to_start_without_a_webhook_secret():
    with pytest.raises(UsageError, match="MAINTBOT_WEBHOOK_SECRET") as caught:
        run_serve("--receiver-only")
    assert "--insecure-no-secret" in caught.value.hint


def test_the_worker_names_the_missing_app_id_and_then_the_missing_key(monkeypatch, tmp_path):
    monkeypatch.setenv("MAINTBOT_WEBHOOK_SECRET", "a-long-enough-test-secret")
    with pytest.raises(UsageError, match="MAINTBOT_APP_ID"):
        run_serve()
    monkeypatch.setenv("MAINTBOT_APP_ID", "4242")
    with pytest.raises(UsageError, match="private key") as caught:
        run_serve("--worker-only")
    assert "MAINTBOT_APP_PRIVATE_KEY_FILE" in caught.value.hint
    monkeypatch.setenv("MAINTBOT_APP_PRIVATE_KEY_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(UsageError, match="missing.pem"):
        run_serve("--worker-only")
    (tmp_path / "bad.pem").write_text("not a key")
    monkeypatch.setenv("MAINTBOT_APP_PRIVATE_KEY_FILE", str(tmp_path / "bad.pem"))
    with pytest.raises(UsageError, match="not a PEM private key"):
        run_serve("--worker-only")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("short\n", "MAINTBOT_WEBHOOK_SECRET has 5 characters, under the minimum of 16"),
        (
            "a-long-enough-old-secret,new",
            "secret 2 of 2 in MAINTBOT_WEBHOOK_SECRET has 3 characters, under the minimum of 16",
        ),
    ],
)
def test_a_short_webhook_secret_stops_the_receiver_with_exit_2(monkeypatch, value, message):
    monkeypatch.setenv("MAINTBOT_WEBHOOK_SECRET", value)
    result = CliRunner().invoke(cli, ["serve", "--receiver-only"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "token_hex(32)" in result.stderr  # the hint says how to make a good one
    assert "a-long-enough-old-secret" not in result.output


def test_receiver_only_and_worker_only_exclude_each_other():
    with pytest.raises(UsageError, match="exclude each other"):
        run_serve("--receiver-only", "--worker-only")


def test_requeue_failed_queues_failed_deliveries_again(tmp_path, capsys):
    with Store.open() as store, store.session() as session:
        for delivery_id in ("d-ok", "d-bad"):
            record_delivery(session, delivery_id, "ping", {"zen": "z"})
        mark_delivery(session, "d-ok", DeliveryStatus.DONE)
        mark_delivery(session, "d-bad", DeliveryStatus.FAILED, error="GitHubError: 502")

    run_serve("--requeue-failed", settings=Settings(as_json=True))

    assert json.loads(capsys.readouterr().out) == {"requeued": ["d-bad"]}
    with Store.open() as store, store.session() as session:
        assert get_delivery(session, "d-bad").status is DeliveryStatus.QUEUED
        assert get_delivery(session, "d-ok").status is DeliveryStatus.DONE
    queue = DeliveryQueue.from_settings(AppSettings.from_env())
    assert queue.waiting_ids() == {"d-bad"}


SERVE_SCRIPT = textwrap.dedent(
    """
    import sys
    from bot.app.cli import serve
    from bot.settings import Settings, configure_logging

    configure_logging(2)  # everything, so the test can check nothing secret is logged
    api_url, *args = sys.argv[1:]
    serve.main(args, obj=Settings(api_url=api_url), prog_name="maintbot")
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_runs_receiver_and_worker_in_one_process_and_stops_on_sigterm(
    make_sandbox, app_keys, shared_dir, tmp_path
):
    sb = make_sandbox(app_id=app_keys.app_id, app_public_key_pem=app_keys.public_pem)
    secret = "process-test-secret-0123456789"
    key_file = tmp_path / "app.pem"
    key_file.write_text(app_keys.private_pem)
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "MAINTBOT_WEBHOOK_SECRET": secret,
        "MAINTBOT_APP_ID": str(app_keys.app_id),
        "MAINTBOT_APP_PRIVATE_KEY_FILE": str(key_file),
        "MAINTBOT_METRICS_PORT": str(metrics_port),
    }
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVE_SCRIPT,
                sb.base_url,
                "--port",
                str(port),
                "--workers",
                "1",
                "--worker-processes",
                "0",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "serve did not answer /healthz in 30 s"
            time.sleep(0.1)

        body = (shared_dir / "github/webhooks/ping/event.json").read_bytes()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "d-process",
            "X-Hub-Signature-256": signature,
        }
        answer = httpx.post(f"{url}/webhook", content=body, headers=headers, timeout=10)
        assert answer.status_code == 202, answer.text

        with Store.open() as store:
            deadline = time.monotonic() + 30
            while True:
                with store.session() as session:
                    status = get_delivery(session, "d-process").status
                if status is DeliveryStatus.DONE:
                    break
                assert status is not DeliveryStatus.FAILED
                assert time.monotonic() < deadline, f"still {status} after 30 s"
                time.sleep(0.1)

        # /metrics on its own loopback port: the delivery, counted; the files, private
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert 'maintbot_webhook_deliveries_total{event="ping"' in metrics, metrics
        assert "maintbot_store_up 1" in metrics
        with Store.open() as opened:
            store_file = Path(str(opened.target.url.database))
        assert stat.S_IMODE(store_file.stat().st_mode) == 0o600

        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down, as a process killed by it would.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = log_path.read_text()
    assert "webhooks at http://127.0.0.1" in output
    assert "All workers have stopped" in output  # huey finished its threads before the exit
    assert secret not in output
    assert "PRIVATE KEY" not in output


def test_insecure_no_secret_starts_with_a_loud_warning(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "MAINTBOT_WEBHOOK_SECRET"}
    log_path = tmp_path / "serve.log"
    command = [sys.executable, "-c", SERVE_SCRIPT, "http://127.0.0.1:9"]
    command += ["--receiver-only", "--insecure-no-secret", "--port", str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "webhooks at http://" not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "serve did not start in 30 s"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = log_path.read_text()
    assert "WARNING: --insecure-no-secret: the receiver accepts UNSIGNED deliveries" in output
    assert f"http://127.0.0.1:{port}/webhook can post fake events" in output
    assert output.index("WARNING") < output.index("webhooks at http://")
