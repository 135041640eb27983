"""MNIST and Fashion-MNIST on this computer: where they are looked for, how they are downloaded
(verified, resumable) and imported from a folder the user chose.

MNIST is looked for in NNSTUDIO_MNIST_DIR, then the user's data folder; Fashion-MNIST in
NNSTUDIO_FASHION_MNIST_DIR, the user's data folder, then /usr/share/datasets/fashion-mnist
(Debian's dataset-fashion-mnist package). Loading them is the catalog's work
(``load_dataset("mnist")``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nnstudio.paths import user_data_dir

from . import idx
from .dataset import DatasetError, DatasetNotFound
from .download import download_file, gunzipped_sha256

_MNIST_SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
# SHA-256 of the uncompressed MNIST files, in the order above; the .gz bytes differ between
# copies (gzip headers hold timestamps), the data does not.
_MNIST_SHA256 = [
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
]

# Where MNIST-like sets come from. Mirrors are tried in order; file names are appended.
MNIST_SOURCES = {
    "mnist": {
        "title": "MNIST",
        "env": "NNSTUDIO_MNIST_DIR",
        "system_dirs": [],
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        "sha256": dict(zip(_MNIST_SHAPES, _MNIST_SHA256, strict=True)),
        "class_names": [str(digit) for digit in range(10)],
        "size": "11 MB",
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST",
        "env": "NNSTUDIO_FASHION_MNIST_DIR",
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],
        "mirrors": [
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ],
        # No hashes of the uncompressed Fashion-MNIST files that we could check ourselves:
        # downloads are verified by structure instead (IDX headers, 60,000/10,000 28×28 images,
        # labels 0–9), which catches truncated and wrong files, though not altered pixels.
        "sha256": {},
        "class_names": [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
        "size": "30 MB",
    },
}


def mnist_source(kind: str) -> dict:
    if kind not in MNIST_SOURCES:
        raise DatasetError(f"Unknown MNIST kind {kind!r}. Known: {', '.join(MNIST_SOURCES)}.")
    return MNIST_SOURCES[kind]


def mnist_locations(kind: str = "mnist") -> list[tuple[str, Path | None]]:
    """Where `find_mnist` looks, in order: (description, folder or None if unset)."""
    source = mnist_source(kind)
    env = os.environ.get(source["env"])
    places = [
        (source["env"], Path(env).expanduser() if env else None),
        ("the user's data folder", user_data_dir() / kind),
    ]
    places += [("the system's datasets", Path(folder)) for folder in source["system_dirs"]]
    return places


def find_mnist(kind: str = "mnist") -> Path | None:
    """The first folder holding all four files of `kind` ("mnist" or "fashion-mnist")."""
    for _, folder in mnist_locations(kind):
        if folder is not None and not idx.find_idx_files(folder)[1]:
            return folder
    return None


def not_found_error(kind: str) -> DatasetNotFound:
    """The error that says where the set was looked for and how to get it."""
    source = mnist_source(kind)
    looked = []
    for description, folder in mnist_locations(kind):
        if folder is None:
            looked.append(f"{description} (not set)")
        else:
            missing = idx.find_idx_files(folder)[1]
            lacks = f"missing {missing[0]}" if len(missing) < 4 else "no files"
            looked.append(f"{folder} ({lacks})")
    return DatasetNotFound(
        f"{source['title']} is not on this computer. Looked in: {'; '.join(looked)}. Download it "
        f"(about {source['size']}), choose a folder holding the four files, or set "
        f"{source['env']}.",
        name=kind,
        can_download=True,
    )


def _verifier(kind: str, base: str):
    """verify(path) for one of the four files: SHA-256 of the data when we know it, else the
    structure (IDX header, shape, label range)."""
    source = mnist_source(kind)
    expected = source["sha256"].get(base)
    if expected:
        return gunzipped_sha256(expected)
    return _structure_check(base, len(source["class_names"]))


def _structure_check(base: str, class_count: int):
    """Verifier for files without a known hash: IDX header, shape and label range."""

    def verify(path: Path) -> None:
        array = idx.read_idx_bytes(path.read_bytes(), path.name)
        if array.shape != _MNIST_SHAPES[base]:
            raise DatasetError(
                f"it holds data of shape {array.shape}, expected {_MNIST_SHAPES[base]}"
            )
        if array.ndim == 1 and array.max(initial=0) >= class_count:
            raise DatasetError(f"it holds label {array.max()}, outside 0..{class_count - 1}")

    return verify


def download_mnist(
    kind: str = "mnist", dest=None, progress=None, mirrors=None, cancel=None
) -> Path:
    """Download the four files of `kind` into `dest` (default: the user's data folder).

    Files already there and verified are kept. progress(done, total, label) reports each
    file; cancel (threading.Event or callable) stops and keeps the partial file for resuming.
    Raises NoNetworkError when offline, DownloadError when every mirror failed.
    """
    source = mnist_source(kind)
    dest = Path(dest) if dest is not None else user_data_dir() / kind
    mirrors = list(mirrors) if mirrors is not None else source["mirrors"]
    advice = f"Download the four files yourself and choose their folder, or set {source['env']}."
    for number, base in enumerate(_MNIST_SHAPES, start=1):
        target = dest / f"{base}.gz"
        verify = _verifier(kind, base)
        if target.exists():
            try:
                verify(target)
                continue
            except DatasetError:
                target.unlink()  # damaged copy: fetch it again
        file_progress = None
        if progress is not None:

            def file_progress(done, total, label, number=number):
                progress(done, total, f"{source['title']} file {number} of 4: {label}")

        download_file(
            [m + target.name for m in mirrors],
            target,
            verify=verify,
            progress=file_progress,
            cancel=cancel,
            what=source["title"],
            advice=advice,
        )
    return dest


def import_mnist(kind: str, folder, dest=None) -> Path:
    """Copy the four files of `kind` from a folder the user chose into `dest` (default: the
    user's data folder), each verified first, so `load_dataset(kind)` finds them from then on.

    For the "choose their folder" answer to a failed download. Files may be gzip or raw.
    """
    source = mnist_source(kind)
    found, missing = idx.find_idx_files(folder)
    if missing:
        raise DatasetNotFound(
            f"{folder} lacks {', '.join(missing)}. Choose the folder holding the four "
            f"{source['title']} files.",
            name=kind,
            can_download=True,
        )
    dest = Path(dest) if dest is not None else user_data_dir() / kind
    dest.mkdir(parents=True, exist_ok=True)
    for role, path in found.items():
        base = idx.MNIST_FILES[role]
        try:
            _verifier(kind, base)(path)
        except DatasetError as error:
            raise DatasetError(
                f"{path} is not the {source['title']} file {base}: {error}. Choose the "
                "folder holding the original files."
            ) from None
        with path.open("rb") as file:
            gzipped = file.read(2) == b"\x1f\x8b"
        target = dest / (f"{base}.gz" if gzipped else base)
        temporary = target.with_name(target.name + ".part")
        shutil.copyfile(path, temporary)
        os.replace(temporary, target)
    return dest
