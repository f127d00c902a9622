"""What a benchmark model name stands for: the module to run and the files that are its own.

``bench.models`` holds plain names for maintbot's reference models (``mnist_mlp`` is the
module ``reference_models.mnist_mlp``) and dotted module paths for a repository's own models
(``examples.my_model``). Every model follows one contract, ``python -m MODULE --epochs N
--seed S --out FILE``, so the harness needs nothing but the module's name.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from bot.config.rules import REFERENCE_PACKAGE, bench_model_problem
from bot.errors import UsageError
from reference_models import MODEL_NAMES


def is_reference(model: str) -> bool:
    """A plain name is one of the reference models; a dotted one is the repository's own."""
    return "." not in model


def module_of(model: str) -> str:
    """The module ``python -m`` runs for ``model``."""
    return f"{REFERENCE_PACKAGE}.{model}" if is_reference(model) else model


def module_file(model: str) -> PurePosixPath:
    """The module's source file, relative to the tree (``reference_models/mnist_mlp.py``)."""
    return PurePosixPath(*module_of(model).split(".")).with_suffix(".py")


def package_main(model: str) -> PurePosixPath:
    """Where a model that is a package keeps what ``python -m`` runs (``pkg/__main__.py``)."""
    return PurePosixPath(*module_of(model).split("."), "__main__.py")


def code_folder(model: str) -> PurePosixPath:
    """The folder the model's code must be imported from (its parent package's folder)."""
    return PurePosixPath(*module_of(model).split(".")[:-1])


def own_paths(model: str) -> tuple[str, ...]:
    """Path patterns of the model's own code: its module (or package) and its parents' inits.

    A reference model's package ``__init__`` is shared code (``bench.paths.shared``), so only a
    repository's own model lists its parents here.
    """
    parts = module_of(model).split(".")
    paths = [str(module_file(model)), "/".join(parts) + "/**"]
    if not is_reference(model):
        paths += ["/".join(parts[:depth]) + "/__init__.py" for depth in range(1, len(parts))]
    return tuple(paths)


def find_module(tree: Path, model: str) -> Path | None:
    """The file ``python -m`` would run for ``model`` in ``tree``, or None when it has none."""
    for relative in (module_file(model), package_main(model)):
        candidate = Path(tree) / relative
        if candidate.is_file():
            return candidate
    return None


def check_names(names: list[str]) -> list[str]:
    """The names, each a reference model or a module path; a clear error for the first that
    is neither."""
    for name in names:
        if problem := bench_model_problem(name, MODEL_NAMES):
            raise UsageError(
                f"unknown model(s): {name[:100]} ({problem})",
                hint=f"choose from {', '.join(MODEL_NAMES)}, or give your own model's module "
                "path (python -m MODULE), e.g. examples.my_model",
            )
    return names
