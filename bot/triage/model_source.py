"""Where a triage model comes from: one spec (``triage.model``, ``--model``) to a checked
model directory.

- empty: the built-in model shipped inside the package, so the first issue after
  installation is labelled with no training and no network;
- a path: a directory written by ``maintbot triage train``;
- ``owner/name[@revision]``: a Hugging Face Hub repository, downloaded into the user's hub
  cache at that revision (pin a commit for reproducible labels) and read from the cache
  afterwards, also with ``HF_HUB_OFFLINE=1``;
- ``https://…/model.tar.gz#sha256=HEX``: an archive checked against its sha256 before it is
  unpacked into maintbot's cache.

A directory that exists wins over a hub id of the same spelling (write ``./models/x`` to be
explicit). Every failure names the model and says what to do (exit 3; a malformed spec is a
configuration error, exit 2).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ConfigError, MaintbotError
from bot.triage.modeldir import MANIFEST, read_manifest

BUILTIN_DIR = Path(__file__).with_name("builtin_model")
HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# what a model directory holds besides the encoder files; only the encoder the manifest
# runs is fetched (the fp32 file is four times the int8 one)
MODEL_FILES = (MANIFEST, "tokenizer.json", "head.npz", "MODEL_CARD.md", "model_card.json")


class ModelSourceError(MaintbotError):
    """The model could not be found, fetched or read (exit code 3)."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``triage.model``: ``kind`` is builtin, path, hub or url."""

    kind: str
    location: str = ""
    revision: str | None = None
    sha256: str | None = None

    def __str__(self) -> str:
        if self.kind == "builtin":
            return "the built-in model"
        if self.kind == "hub":
            return f"hub model {self.location}@{self.revision or 'main'}"
        return self.location


def parse_model_spec(spec: str | None) -> ModelSpec:
    """Reads a spec without touching the disk or the network, except to see whether a path
    exists (an existing directory wins over a hub id of the same spelling)."""
    spec = (spec or "").strip()
    if not spec:
        return ModelSpec("builtin", str(BUILTIN_DIR))
    if spec.startswith("http://"):
        raise ConfigError(
            f"triage model {spec}: plain http is not accepted",
            hint="serve the archive over https and add #sha256=<its sha256>",
        )
    if spec.startswith("https://"):
        url, _, fragment = spec.partition("#")
        digest = fragment.removeprefix("sha256=").lower() if fragment.startswith("sha256=") else ""
        if not SHA256.match(digest):
            raise ConfigError(
                f"triage model {url}: an archive URL needs #sha256=<64 hex digits>",
                hint="add the archive's checksum, e.g. `sha256sum model.tar.gz`, as "
                "https://…/model.tar.gz#sha256=…",
            )
        return ModelSpec("url", url, sha256=digest)
    path = Path(spec).expanduser()
    hub = HUB_ID.match(spec)
    if hub and not path.exists() and not spec.startswith("."):
        return ModelSpec("hub", hub["repo"], revision=hub["revision"])
    return ModelSpec("path", str(path))


def resolve_model(spec: str | None, *, endpoint: str | None = None) -> Path:
    """The model directory for ``spec``, fetched into a cache if it is remote, and checked
    (manifest, format version, the files it names). ``endpoint``: another Hub server."""
    parsed = parse_model_spec(spec)
    if parsed.kind == "builtin":
        directory = _builtin()
    elif parsed.kind == "hub":
        directory = _from_hub(parsed, endpoint)
    elif parsed.kind == "url":
        directory = _from_archive(parsed)
    else:
        directory = Path(parsed.location)
        if not directory.is_dir():
            raise ModelSourceError(
                f"triage model {parsed}: no such directory",
                hint="set triage.model (or --model) to a directory written by `maintbot "
                "triage train`, an owner/name Hub repository, or leave it empty for the "
                "built-in model",
            )
    return check_model_dir(directory, str(parsed))


def check_model_dir(directory: Path, name: str) -> Path:
    """The directory, if its manifest is of this maintbot's format and its files are all
    there; else a :class:`ModelSourceError` naming the model."""
    try:
        read_manifest(directory)
    except MaintbotError as error:
        raise ModelSourceError(
            f"triage model {name}: {error.message}", hint=error.hint or "train it again"
        ) from error
    return directory


def _builtin() -> Path:
    if not (BUILTIN_DIR / MANIFEST).is_file():
        raise ModelSourceError(
            "the built-in triage model is not in this installation",
            hint="install maintbot from a release wheel, build it with `make default-model`, "
            "or set triage.model to a model directory",
        )
    return BUILTIN_DIR


def _from_hub(spec: ModelSpec, endpoint: str | None) -> Path:
    """Downloads (or reads from the hub cache) the manifest, then the files it needs."""
    import json

    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        manifest = Path(
            hf_hub_download(spec.location, MANIFEST, revision=spec.revision, endpoint=endpoint)
        )
        runtime = json.loads(manifest.read_text()).get("runtime", "int8")
        encoder = "encoder.int8.onnx" if runtime == "int8" else "encoder.onnx"
        folder = snapshot_download(
            spec.location,
            revision=spec.revision,
            allow_patterns=[*MODEL_FILES, encoder],
            endpoint=endpoint,
        )
    except (RepositoryNotFoundError, RevisionNotFoundError) as error:
        raise ModelSourceError(
            f"triage model {spec}: the Hub has no such repository or revision",
            hint="check triage.model's owner/name@revision (a private repository needs HF_TOKEN)",
        ) from error
    except LocalEntryNotFoundError as error:
        raise ModelSourceError(
            f"triage model {spec}: not in the local hub cache and the Hub cannot be reached",
            hint="run once with network access (HF_HUB_OFFLINE unset) to download it",
        ) from error
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise ModelSourceError(
            f"triage model {spec}: download failed ({type(error).__name__}: {error})",
            hint="check the network and the repository, then try again",
        ) from error
    return Path(folder)


def cache_root() -> Path:
    """maintbot's own cache: ``MAINTBOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/maintbot``."""
    if os.environ.get("MAINTBOT_CACHE_DIR"):
        return Path(os.environ["MAINTBOT_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "maintbot"


def _from_archive(spec: ModelSpec) -> Path:
    """The archive's model directory, unpacked once per checksum; the download is checked
    against the sha256 before anything is unpacked."""
    assert spec.sha256
    target = cache_root() / "models" / f"sha256-{spec.sha256}"
    if (target / MANIFEST).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        archive = Path(tmp) / "archive"
        digest = _download(spec.location, archive)
        if digest != spec.sha256:
            raise ModelSourceError(
                f"triage model {spec}: checksum mismatch (expected sha256 {spec.sha256}, "
                f"got {digest})",
                hint="the archive changed or the #sha256 is wrong: check both; nothing was "
                "unpacked",
            )
        unpacked = Path(tmp) / "unpacked"
        _unpack(archive, unpacked, str(spec))
        root = _model_root(unpacked, str(spec))
        if target.exists():  # another process finished first
            shutil.rmtree(target, ignore_errors=True)
        os.replace(root, target)
    return target


def _download(url: str, path: Path) -> str:
    """Streams ``url`` into ``path``; returns its sha256."""
    import requests

    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=30) as response:
            response.raise_for_status()
            with open(path, "wb") as handle:
                for chunk in response.iter_content(1 << 20):
                    digest.update(chunk)
                    handle.write(chunk)
    except requests.RequestException as error:
        raise ModelSourceError(
            f"triage model {url}: download failed ({type(error).__name__})",
            hint="check the URL and the network, then try again",
        ) from error
    return digest.hexdigest()


def _unpack(archive: Path, into: Path, name: str) -> None:
    """A .tar(.gz) or .zip archive, refusing members that would land outside ``into``."""
    into.mkdir()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    _inside(into, member, name)
                zipped.extractall(into)
        else:
            with tarfile.open(archive) as tarred:
                tarred.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as error:
        raise ModelSourceError(
            f"triage model {name}: cannot unpack the archive ({error})",
            hint="publish the model directory as a .tar.gz or .zip",
        ) from error


def _inside(root: Path, member: str, name: str) -> None:
    if not (root / member).resolve().is_relative_to(root.resolve()):
        raise ModelSourceError(
            f"triage model {name}: archive member {member!r} points outside the archive",
            hint="the archive is unsafe; nothing was unpacked",
        )


def _model_root(unpacked: Path, name: str) -> Path:
    """The folder holding the manifest: the archive's root or its one top-level folder."""
    if (unpacked / MANIFEST).is_file():
        return unpacked
    children = [p for p in unpacked.iterdir() if p.is_dir()]
    if len(children) == 1 and (children[0] / MANIFEST).is_file():
        return children[0]
    raise ModelSourceError(
        f"triage model {name}: the archive holds no {MANIFEST}",
        hint="archive the directory written by `maintbot triage train`",
    )
