"""Which models a change can affect: the pure decision behind "pay only for what changed".

A model depends on its own module, on the code every model shares and the files that decide
the installed packages (``bench.paths.shared``), on paths listed for it
(``bench.paths.models``) and on the configuration file, which decides all of this. A pull
request that changes none of a model's files cannot change its numbers, so the benchmark
skips the model; when it changes no model's files at all, the verdict is "not affected" and
nothing is trained. Paths are compared as git prints them: relative, with ``/``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.bench.models import own_paths

CONFIG_FILE = ".github/maintbot.yml"
MAX_SHOWN = 50  # changed paths kept in a results document and listed in the comment


@dataclass(frozen=True)
class Dependency:
    """A path pattern a model depends on, and why (shown when it matches a change)."""

    pattern: str
    why: str


@dataclass(frozen=True)
class ModelScope:
    """One model's decision: the changed paths that affect it (none: it is skipped)."""

    model: str
    because: tuple[tuple[str, Dependency], ...]  # (changed path, the dependency it matched)
    forced: str | None = None  # affected without a matching path, and why

    @property
    def affected(self) -> bool:
        return bool(self.because) or self.forced is not None

    @property
    def reason(self) -> str:
        """One sentence for the comment and the progress line."""
        if self.forced is not None:
            return self.forced
        if not self.because:
            return "none of the changed files is its code, shared code or a dependency file"
        path, dependency = self.because[0]
        more = len(self.because) - 1
        extra = f" (and {more} more changed file{'s' if more > 1 else ''})" if more else ""
        return f"{path} changed ({dependency.why}){extra}"


@dataclass(frozen=True)
class Scope:
    """The decision for every model over one change (changed paths, sorted)."""

    changed: tuple[str, ...]
    models: tuple[ModelScope, ...]

    @property
    def affected(self) -> list[str]:
        return [m.model for m in self.models if m.affected]

    @property
    def skipped(self) -> list[str]:
        return [m.model for m in self.models if not m.affected]

    @property
    def nothing_affected(self) -> bool:
        return not self.affected

    def of(self, model: str) -> ModelScope | None:
        return next((m for m in self.models if m.model == model), None)

    def to_results(self) -> dict[str, Any]:
        """The ``scope`` object of a results document (bounded: a fork may have written it)."""
        return {
            "changed_count": len(self.changed),
            "changed": list(self.changed[:MAX_SHOWN]),
            "models": [
                {
                    "model": m.model,
                    "affected": m.affected,
                    "because": [path for path, _ in m.because[:10]],
                }
                for m in self.models
            ],
        }


def dependencies(
    model: str,
    shared: Sequence[str],
    extra: Mapping[str, Sequence[str]] | None = None,
    config_files: Iterable[str] = (CONFIG_FILE,),
) -> tuple[Dependency, ...]:
    """Every pattern ``model`` depends on, own code first."""
    found = [Dependency(p, "its own code") for p in own_paths(model)]
    found += [
        Dependency(p, f"listed for {model} in bench.paths.models")
        for p in (extra or {}).get(model, ())
    ]
    found += [Dependency(p, "shared by every model: bench.paths.shared") for p in shared]
    found += [Dependency(p, "the benchmark's configuration") for p in config_files]
    return tuple(found)


def decide(
    changed: Iterable[str],
    models: Sequence[str],
    *,
    shared: Sequence[str],
    extra: Mapping[str, Sequence[str]] | None = None,
    config_files: Iterable[str] = (CONFIG_FILE,),
    complete: bool = True,
) -> Scope:
    """Per model: affected (with the changed paths that make it so) or skipped.

    ``complete`` is False when the list of changed paths was cut (GitHub lists at most 3000
    files of a pull request): what was not seen may matter, so every model is affected.
    """
    paths = tuple(sorted({normalize(p) for p in changed if normalize(p)}))
    configs = tuple(config_files)
    scopes = []
    for model in models:
        if not complete:
            scopes.append(ModelScope(model, (), forced="the list of changed files is incomplete"))
            continue
        deps = dependencies(model, shared, extra, configs)
        because = []
        for path in paths:
            hit = next((i for i, d in enumerate(deps) if matches(d.pattern, path)), None)
            if hit is not None:
                because.append((hit, path))
        because.sort()  # its own code first: the most telling reason
        scopes.append(ModelScope(model, tuple((path, deps[i]) for i, path in because)))
    return Scope(paths, tuple(scopes))


def every_model(models: Sequence[str], why: str) -> Scope:
    """A scope that trains everything (no base to diff against, or scoping turned off)."""
    return Scope((), tuple(ModelScope(m, (), forced=why) for m in models))


def reconcile(trusted: Scope, ran: Collection[str]) -> tuple[Scope, list[str]]:
    """The trusted decision against what an untrusted run trained: (scope to show, missing).

    A model the run trained is compared whatever the decision (training more is never
    wrong); a model the decision calls affected but the run did not train is ``missing``:
    the verdict about it was never established. Extra trained models are added at the end.
    """
    shown = []
    missing = []
    for model in trusted.models:
        if model.model in ran and not model.affected:
            shown.append(ModelScope(model.model, (), forced="trained by the benchmark run"))
        else:
            shown.append(model)
            if model.affected and model.model not in ran:
                missing.append(model.model)
    known = {m.model for m in trusted.models}
    shown += [
        ModelScope(m, (), forced="trained by the benchmark run") for m in ran if m not in known
    ]
    return Scope(trusted.changed, tuple(shown)), missing


def normalize(path: str) -> str:
    """``./a//b`` → ``a/b``: the form git prints."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def matches(pattern: str, path: str) -> bool:
    """Whether ``path`` matches ``pattern``, gitignore-style.

    A pattern without ``/`` matches a file name in any folder (``requirements*.txt``); one
    with ``/`` is anchored at the root, ``*`` stays inside one folder, ``**`` spans any
    number of folders, and a trailing ``/`` means everything below that folder.
    """
    path = normalize(path)
    if pattern.endswith("/"):
        pattern += "**"
    if "/" not in pattern:
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    return _match_segments(normalize(pattern).split("/"), path.split("/"))


def _match_segments(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_segments(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _match_segments(rest, path[1:])
