"""Where a triage model comes from: the built-in model, a directory, a Hub repository (a
loopback server speaking the hub's protocol, then its cache offline) and an https archive
pinned by its sha256."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from bot.errors import ConfigError, ExitCode
from bot.triage.model_source import (
    BUILTIN_DIR,
    ModelSourceError,
    ModelSpec,
    parse_model_spec,
    resolve_model,
)
from bot.triage.modeldir import MANIFEST
from tests.fixtures.model_servers import https_file_server, hub_server

SHA = "ab" * 32
# A bug report of a kind the training data does not hold (an invented one, in the shape of a
# TensorFlow bug report): the built-in model should say bug.
BUG_TITLE = "Segfault in tf.data pipeline after upgrading to 2.16"
BUG_BODY = (
    "### Issue type\nBug\n\n### Current behavior?\nThe training script crashes with a "
    "segmentation fault on the first epoch since upgrading. It worked on 2.15.\n\n"
    "### Standalone code to reproduce the issue\n```python\nimport tensorflow as tf\n"
    "ds = tf.data.Dataset.range(10).map(lambda x: x * 2).batch(2)\nfor b in ds: print(b)\n```\n"
    "### Relevant log output\n```\nFatal Python error: Segmentation fault\n"
    'Current thread 0x00007f (most recent call first):\n  File "train.py", line 4\n```'
)

needs_builtin = pytest.mark.skipif(
    not (BUILTIN_DIR / MANIFEST).is_file(), reason="the built-in model is not built here"
)


def builtin_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in BUILTIN_DIR.iterdir() if p.is_file()}


# -- the spec, as plain data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", ModelSpec("builtin", str(BUILTIN_DIR))),
        (None, ModelSpec("builtin", str(BUILTIN_DIR))),
        ("octo-lab/triage-model", ModelSpec("hub", "octo-lab/triage-model")),
        ("octo-lab/triage-model@v1.2", ModelSpec("hub", "octo-lab/triage-model", "v1.2")),
        ("./models/triage", ModelSpec("path", "models/triage")),
        ("/srv/models/triage", ModelSpec("path", "/srv/models/triage")),
        (
            f"https://example.org/m.tar.gz#sha256={SHA.upper()}",
            ModelSpec("url", "https://example.org/m.tar.gz", sha256=SHA),
        ),
    ],
)
def test_specs_are_read_as_documented(spec, expected):
    assert parse_model_spec(spec) == expected


def test_an_existing_directory_wins_over_a_hub_id(tmp_path, monkeypatch):
    (tmp_path / "models" / "triage").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert parse_model_spec("models/triage").kind == "path"
    assert parse_model_spec("models/other").kind == "hub"


@pytest.mark.parametrize(
    "spec",
    ["https://example.org/m.tar.gz", "https://example.org/m.tar.gz#sha256=abc", "http://x/m"],
)
def test_an_archive_needs_https_and_its_checksum(spec):
    with pytest.raises(ConfigError) as raised:
        parse_model_spec(spec)
    assert raised.value.exit_code == ExitCode.USAGE
    assert "sha256" in raised.value.hint


# -- directories -----------------------------------------------------------------------------


def test_a_missing_directory_is_a_clear_error():
    with pytest.raises(ModelSourceError) as raised:
        resolve_model("/nonexistent/model-dir")
    assert raised.value.exit_code == ExitCode.EXTERNAL
    assert "/nonexistent/model-dir" in raised.value.message


@needs_builtin
def test_a_model_of_another_format_or_missing_a_file_names_the_model(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(BUILTIN_DIR, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    (copy / MANIFEST).write_text(json.dumps({**manifest, "format_version": 1}))
    with pytest.raises(ModelSourceError) as raised:
        resolve_model(str(copy))
    assert str(copy) in raised.value.message and "format version 1" in raised.value.message
    assert raised.value.exit_code == ExitCode.EXTERNAL

    (copy / MANIFEST).write_text(json.dumps(manifest))
    assert resolve_model(str(copy)) == copy
    (copy / "head.npz").unlink()
    with pytest.raises(ModelSourceError, match="head.npz is missing"):
        resolve_model(str(copy))


# -- the Hub ---------------------------------------------------------------------------------


@needs_builtin
def test_a_hub_model_is_downloaded_once_then_read_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    # the suite runs offline; this test goes online to its own loopback hub only
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    files = {**builtin_files(), "encoder.onnx": b"the fp32 file, never fetched"}
    with hub_server({"octo-lab/triage": files}) as (endpoint, log):
        directory = resolve_model("octo-lab/triage@main", endpoint=endpoint)
        assert (directory / MANIFEST).read_bytes() == files[MANIFEST]
        assert not (directory / "encoder.onnx").exists()
        assert not any(path.endswith("/encoder.onnx") and verb == "GET" for verb, path in log)
        with pytest.raises(ModelSourceError, match="no such repository"):
            resolve_model("octo-lab/absent", endpoint=endpoint)
        with pytest.raises(ModelSourceError, match="no such repository or revision"):
            resolve_model("octo-lab/triage@v9", endpoint=endpoint)

    # the server is gone: a new process, offline, reads the cache and labels the issue
    script = (
        "import sys\n"
        "from bot.triage.model_source import resolve_model\n"
        "from bot.triage.runtime import Predictor\n"
        "model = resolve_model('octo-lab/triage@main')\n"
        "(p,) = Predictor(model).predict([(sys.argv[1], sys.argv[2])])\n"
        "print(p.label)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", script, BUG_TITLE, BUG_BODY],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "bug"

    env["HF_HUB_CACHE"] = str(tmp_path / "empty-cache")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "triage",
            "predict",
            "--model",
            "octo-lab/triage",
            "--title",
            "x",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == ExitCode.EXTERNAL
    assert "not in the local hub cache" in out.stderr and "HF_HUB_OFFLINE" in out.stderr


# -- https archives --------------------------------------------------------------------------


def _archive(files: dict[str, bytes], top: str = "model") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@needs_builtin
def test_an_archive_is_checked_then_unpacked_once(tmp_path, monkeypatch):
    monkeypatch.setenv("MAINTBOT_CACHE_DIR", str(tmp_path / "cache"))
    good = _archive(builtin_files())
    evil = _archive({"../../escaped.txt": b"x"}, top="")
    served = {"model.tar.gz": good, "evil.tar.gz": evil}
    with https_file_server(served, tmp_path) as (base, ca_bundle):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
        digest = hashlib.sha256(good).hexdigest()
        wrong = hashlib.sha256(b"something else").hexdigest()
        with pytest.raises(ModelSourceError, match="checksum mismatch") as raised:
            resolve_model(f"{base}/model.tar.gz#sha256={wrong}")
        assert raised.value.exit_code == ExitCode.EXTERNAL
        assert not list((tmp_path / "cache" / "models").glob("sha256-*"))

        directory = resolve_model(f"{base}/model.tar.gz#sha256={digest}")
        assert (directory / MANIFEST).read_bytes() == (BUILTIN_DIR / MANIFEST).read_bytes()

        with pytest.raises(ModelSourceError):
            resolve_model(f"{base}/evil.tar.gz#sha256={hashlib.sha256(evil).hexdigest()}")
        assert not (tmp_path / "escaped.txt").exists()
    # offline now: the unpacked copy is used without a download
    assert resolve_model(f"{base}/model.tar.gz#sha256={digest}") == directory
