"""The artifact between the two PR workflows: exactly two results files and a preview.

The unprivileged job writes it; the privileged job reads only ``base.json`` and ``head.json``
from it, as plain files (no links), through the size-capped validating reader. The App, which
has no ``actions/download-artifact``, fetches it through the REST API and extracts it here
(:func:`find_run_artifact`, :func:`download_zip`, :func:`extract_zip`), size-capped, every
zip member checked first (:func:`unsafe_entries`, pure).
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bench import results
from bot.errors import UsageError

BASE_FILE = "base.json"
HEAD_FILE = "head.json"
PREVIEW_FILE = "comment.md"  # for people browsing the artifact; never read back


def write_artifact(
    folder: Path, base: dict[str, Any], head: dict[str, Any], preview: str
) -> list[Path]:
    """Writes the two results files and the Markdown preview; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    results.write(base, folder / BASE_FILE)
    results.write(head, folder / HEAD_FILE)
    (folder / PREVIEW_FILE).write_text(preview, encoding="utf-8")
    return [folder / BASE_FILE, folder / HEAD_FILE, folder / PREVIEW_FILE]


def read_artifact(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(base, head) results from an artifact folder, each validated against the schema."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        raise UsageError(
            f"{folder} is not a folder",
            hint="pass the folder the benchmark artifact was downloaded into",
        )
    docs = []
    for name in (BASE_FILE, HEAD_FILE):
        path = folder / name
        if path.is_symlink() or not path.is_file():
            raise UsageError(
                f"the artifact in {folder} has no plain file {name}",
                hint="the benchmark job failed before writing results; see its log",
            )
        docs.append(results.load(path))
    base, head = docs
    return base, head


def policy_notes(
    base: dict[str, Any],
    head: dict[str, Any],
    bench_config: Any,
    skipped: Collection[str] = (),
) -> list[str]:
    """What in the artifact differs from the default branch's ``bench`` configuration.

    The PR's own workflow and config decided how it was benchmarked, so the privileged step
    says when that was weaker than the project asks (fewer seeds, fewer epochs, a slice).
    Models in ``skipped`` are not mentioned as missing: the change does not affect them.
    """
    notes = []
    for label, doc in (("base", base), ("head", head)):
        settings = doc["settings"]
        if settings["train_limit"] or settings["test_limit"]:
            notes.append(
                f"the {label} ran on a data slice (train {settings['train_limit'] or 'all'}, "
                f"test {settings['test_limit'] or 'all'} images): quick-check figures"
            )
        if len(settings["seeds"]) < bench_config.seeds:
            notes.append(
                f"the {label} ran {len(settings['seeds'])} seed(s); this repository's "
                f"configuration asks for {bench_config.seeds}"
            )
        if settings["epochs"] != bench_config.epochs:
            notes.append(
                f"the {label} ran {settings['epochs']} epoch(s); this repository's "
                f"configuration asks for {bench_config.epochs}"
            )
        missing = [
            m for m in bench_config.models if m not in settings["models"] and m not in skipped
        ]
        if missing:
            notes.append(f"the {label} did not run {', '.join(missing)}")
    return notes


# ----------------------------------------------------------------------------------------
# Fetching the artifact through the REST API (the workflow_run handler of the App and the
# Action): list the run's artifacts, download the zip (GitHub answers 302 to a blob URL),
# extract it into a temporary folder. The zip comes from the untrusted job, so it is capped
# in size and every entry is checked before anything is written: a name with ``..``, an
# absolute path, a link or a device refuses the whole zip.

ARTIFACT_NAME = "bench-results"
MAX_ZIP_BYTES = 50 * 1024 * 1024  # the download; a real bench-results zip is ~20 KB
MAX_EXTRACTED_BYTES = 3 * results.MAX_BYTES  # base.json, head.json and the preview
MAX_ENTRIES = 100
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ZipEntry:
    """What the safety check needs of one zip member (plain data, tested without a zip)."""

    name: str
    size: int
    mode: int = 0  # the unix mode in the high 16 bits of external_attr; 0 when not unix

    @classmethod
    def of(cls, info: zipfile.ZipInfo) -> ZipEntry:
        return cls(info.filename, info.file_size, info.external_attr >> 16)


def unsafe_entries(entries: Sequence[ZipEntry]) -> list[str]:
    """Why these members must not be extracted (empty: safe), one reason per problem."""
    problems = []
    if len(entries) > MAX_ENTRIES:
        problems.append(f"{len(entries)} members (at most {MAX_ENTRIES})")
    seen: set[str] = set()
    for entry in entries:
        name = entry.name
        parts = name.replace("\\", "/").split("/")
        kind = stat.S_IFMT(entry.mode)
        if "\0" in name or not name.strip("/"):
            problems.append(f"{name!r}: not a usable name")
        elif name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            problems.append(f"{name!r}: an absolute path")
        elif ".." in parts:
            problems.append(f"{name!r}: climbs out of the folder (..)")
        elif "\\" in name:
            problems.append(f"{name!r}: a backslash in a name")
        elif stat.S_ISLNK(entry.mode):
            problems.append(f"{name!r}: a symbolic link")
        elif kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            problems.append(f"{name!r}: not a plain file or folder")
        elif name.rstrip("/") in seen:
            problems.append(f"{name!r}: twice in the zip")
        seen.add(name.rstrip("/"))
    total = sum(entry.size for entry in entries)
    if total > MAX_EXTRACTED_BYTES:
        problems.append(
            f"{total} bytes uncompressed (at most {MAX_EXTRACTED_BYTES // (1024 * 1024)} MiB)"
        )
    return problems


def extract_zip(zip_path: Path, folder: Path) -> Path:
    """Extracts the artifact zip into ``folder`` (new or empty) after checking every member.

    Sizes are counted while decompressing too: a member that inflates past what its header
    declares is refused, not trusted.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(
            f"the {ARTIFACT_NAME} artifact is not a readable zip ({exc})",
            hint="nothing was posted; see the benchmark run's upload step",
        ) from exc
    with archive:
        infos = archive.infolist()
        problems = unsafe_entries([ZipEntry.of(info) for info in infos])
        if problems:
            raise UsageError(
                f"the {ARTIFACT_NAME} artifact was refused: " + "; ".join(problems[:5]),
                hint="nothing was extracted or posted; the artifact is not what the "
                "benchmark job writes (it may be forged)",
            )
        folder.mkdir(parents=True, exist_ok=True)
        budget = MAX_EXTRACTED_BYTES
        for info in infos:
            target = folder.joinpath(*info.filename.split("/"))
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with archive.open(info) as src, open(target, "xb") as dst:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > info.file_size or written > budget:
                            raise UsageError(
                                f"the {ARTIFACT_NAME} artifact was refused: {info.filename!r} "
                                "inflates past its declared size",
                                hint="nothing was posted; the artifact may be forged",
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError) as exc:
                raise UsageError(
                    f"the {ARTIFACT_NAME} artifact is damaged ({info.filename!r}: {exc})",
                    hint="nothing was posted; re-run the benchmark",
                ) from exc
            budget -= written
    return folder


def find_run_artifact(repo: Any, run_id: int, name: str = ARTIFACT_NAME) -> Any | None:
    """The newest artifact called ``name`` of workflow run ``run_id`` (a PyGithub
    ``Artifact``), or None when the run uploaded none."""
    from github import GithubException
    from github.Artifact import Artifact
    from github.PaginatedList import PaginatedList
    from requests import RequestException

    from bot.github.errors import explain_github_error

    listed = PaginatedList(
        Artifact,
        repo.requester,
        f"{repo.url}/actions/runs/{run_id}/artifacts",
        {"name": name, "per_page": 100},
        list_item="artifacts",
    )
    try:
        found = [artifact for artifact in listed if artifact.name == name]
    except (GithubException, RequestException) as exc:  # 403: the token lacks actions: read
        raise explain_github_error(exc, action=f"list the artifacts of run {run_id}") from exc
    return max(found, key=lambda artifact: artifact.id) if found else None


def download_zip(repo: Any, artifact: Any, target: Path, *, max_bytes: int = MAX_ZIP_BYTES) -> Path:
    """Downloads ``artifact``'s zip to ``target``, refusing one over ``max_bytes``.

    GitHub answers ``/zip`` with a 302 to a short-lived blob URL; PyGithub's requester follows
    it (and drops the token when the blob is on another host). The size GitHub lists is
    checked first, the bytes received are counted as well.
    """
    from github import GithubException
    from requests import RequestException

    from bot.errors import GitHubError

    too_big = UsageError(
        f"the {ARTIFACT_NAME} artifact is over {max_bytes // (1024 * 1024)} MB; refused",
        hint="a benchmark artifact holds two small JSON files; nothing was posted",
    )
    if (artifact.size_in_bytes or 0) > max_bytes:
        raise too_big
    url = artifact.archive_download_url
    received = 0
    try:
        _, _, chunks = repo.requester.getStream(url, chunk_size=_CHUNK)
        with open(target, "wb") as out:
            for chunk in chunks:
                received += len(chunk)
                if received > max_bytes:
                    raise too_big
                out.write(chunk)
    except (GithubException, RequestException) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(
            exc, "status", None
        )
        raise GitHubError(
            f"could not download the {ARTIFACT_NAME} artifact ({status or exc})",
            hint="the token needs actions: read; an expired artifact answers 410",
        ) from exc
    return target
