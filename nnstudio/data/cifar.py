"""CIFAR-10 from its official *binary* version: where it is looked for and how it is read.

The binary version (cifar-10-binary.tar.gz, unpacked into cifar-10-batches-bin/) holds
data_batch_1.bin … data_batch_5.bin (50,000 training images) and test_batch.bin (10,000),
each a run of 3073-byte records: one label byte (0–9), then 1024 red, 1024 green and 1024 blue
bytes of a 32 × 32 image, row by row. Plain bytes only: the "Python version" of CIFAR-10 is
pickled, and nnstudio never unpickles a file.

CIFAR-10 is looked for in NNSTUDIO_CIFAR10_DIR, then the user's data folder (cifar10/), each
either holding the files or the cifar-10-batches-bin/ folder the archive unpacks into. Not
found, it can be downloaded (`download_cifar10`: the archive, resumable, checked by structure,
then only the six batch files taken out of it) or copied from a folder the user chose
(`import_cifar10`). Loading it is the catalog's work (``load_dataset("cifar10")``).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from nnstudio.paths import user_data_dir
from nnstudio.safe_read import FileReadError, read_bytes

from .dataset import DatasetError, DatasetNotFound
from .download import download_file

ENV = "NNSTUDIO_CIFAR10_DIR"
TRAIN_FILES = [f"data_batch_{k}.bin" for k in range(1, 6)]
TEST_FILE = "test_batch.bin"
ARCHIVE_FOLDER = "cifar-10-batches-bin"  # what the official archive unpacks into
SIDE, CHANNELS = 32, 3
RECORD_BYTES = 1 + CHANNELS * SIDE * SIDE  # 3073: the label, then red, green and blue planes
CLASS_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
ARCHIVE = "cifar-10-binary.tar.gz"
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
URL = MIRRORS[0] + ARCHIVE
MAX_BATCH_BYTES = 60_000 * RECORD_BYTES  # a member larger than this is not a CIFAR-10 batch


def read_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) from one CIFAR-10 binary batch file.

    Raises DatasetError naming the file when its size is not a whole number of 3073-byte
    records or a label is outside 0–9 (a file of another set, or a damaged one).
    """
    path = Path(path)
    try:
        raw = read_bytes(path, "a CIFAR-10 batch file")
    except FileReadError as error:
        raise DatasetError(str(error)) from None
    if not raw or len(raw) % RECORD_BYTES:
        raise DatasetError(
            f"{path} is {len(raw):,} bytes, not a whole number of {RECORD_BYTES}-byte CIFAR-10 "
            "records: it is damaged or not from the binary version of CIFAR-10 (the Python "
            "version's pickled files are not read)."
        )
    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(CLASS_NAMES))
    if len(bad):
        raise DatasetError(
            f"{path}: record {bad[0]} has label {labels[bad[0]]}, outside 0–9; the file is "
            "damaged or not a CIFAR-10 batch."
        )
    images = records[:, 1:].reshape(-1, CHANNELS, SIDE, SIDE)
    return images, labels


def missing_files(folder: Path) -> list[str]:
    return [name for name in [*TRAIN_FILES, TEST_FILE] if not (folder / name).is_file()]


def cifar_locations() -> list[tuple[str, Path | None]]:
    """Where `find_cifar10` looks, in order: (description, folder or None if unset)."""
    env = os.environ.get(ENV)
    return [
        (ENV, Path(env).expanduser() if env else None),
        ("the user's data folder", user_data_dir() / "cifar10"),
    ]


def find_cifar10() -> Path | None:
    """The first folder holding the six batch files (or its cifar-10-batches-bin/)."""
    for _, folder in cifar_locations():
        if folder is None:
            continue
        for candidate in (folder, folder / ARCHIVE_FOLDER):
            if not missing_files(candidate):
                return candidate
    return None


def not_found_error() -> DatasetNotFound:
    looked = [
        f"{description} (not set)" if folder is None else str(folder)
        for description, folder in cifar_locations()
    ]
    return DatasetNotFound(
        f"CIFAR-10 is not on this computer. Looked in: {'; '.join(looked)}. Download it (its "
        f"binary version, about 163 MB, {URL}), choose a folder holding its six .bin files, "
        f"or set {ENV}.",
        name="cifar10",
        can_download=True,
    )


def read_cifar10(folder) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) from the six batch files in ``folder``; images uint8
    (N, 3, 32, 32)."""
    folder = Path(folder)
    missing = missing_files(folder)
    if missing:
        raise DatasetNotFound(f"{folder} lacks {', '.join(missing)}.", name="cifar10")
    batches = [read_cifar_batch(folder / name) for name in TRAIN_FILES]
    x_test, y_test = read_cifar_batch(folder / TEST_FILE)
    x_train = np.concatenate([images for images, _ in batches])
    y_train = np.concatenate([labels for _, labels in batches])
    return x_train, y_train, x_test, y_test


def write_cifar_batch(path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write images (N, 3, 32, 32) uint8 and labels as a CIFAR-10 binary batch (tests make
    small sets with it)."""
    images = np.asarray(images, np.uint8).reshape(len(labels), -1)
    records = np.concatenate([np.asarray(labels, np.uint8)[:, None], images], axis=1)
    Path(path).write_bytes(records.tobytes())


# -- download and import -----------------------------------------------------------------------


def _batch_members(tar: tarfile.TarFile):
    """(member, file name) of the archive's six batch files, each checked: a regular file whose
    size is a whole number of records; anything else in the archive is left alone."""
    wanted = {*TRAIN_FILES, TEST_FILE}
    for member in tar:
        name = PurePosixPath(member.name).name
        if name not in wanted:
            continue
        if not member.isreg() or not 0 < member.size <= MAX_BATCH_BYTES:
            raise DatasetError(f"its {name} is not a CIFAR-10 batch file")
        if member.size % RECORD_BYTES:
            raise DatasetError(f"its {name} is not a whole number of {RECORD_BYTES}-byte records")
        wanted.discard(name)
        yield member, name
    if wanted:
        raise DatasetError(f"it lacks {', '.join(sorted(wanted))}")


def verify_archive(path: Path) -> None:
    """The downloaded archive holds the six batch files with sizes of whole records (read to
    its end, so a truncated or damaged archive fails here). Raises DatasetError."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            for _ in _batch_members(tar):
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"it is not a readable tar.gz archive ({error})") from None


def extract_batches(archive: Path, dest: Path) -> None:
    """Write the archive's six batch files into ``dest`` under their own names (never a path
    taken from the archive), each through a .part file."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member, name in _batch_members(tar):
            part = dest / f"{name}.part"
            with tar.extractfile(member) as source, part.open("wb") as target:
                shutil.copyfileobj(source, target)
            os.replace(part, dest / name)


def download_cifar10(dest=None, progress=None, mirrors=None, cancel=None) -> Path:
    """Download the binary archive into ``dest`` (default: the user's data folder), check it,
    take the six batch files out and delete the archive. Resumable like every download;
    raises NoNetworkError offline, DownloadError when every mirror failed."""
    dest = Path(dest) if dest is not None else user_data_dir() / "cifar10"
    if not missing_files(dest):
        return dest
    mirrors = list(mirrors) if mirrors is not None else MIRRORS
    archive = download_file(
        [mirror + ARCHIVE for mirror in mirrors],
        dest / ARCHIVE,
        verify=verify_archive,
        progress=progress,
        cancel=cancel,
        what="CIFAR-10",
        advice=f"Download {URL} yourself, unpack it and choose its folder, or set {ENV}.",
    )
    extract_batches(archive, dest)
    archive.unlink()
    return dest


def import_cifar10(folder, dest=None) -> Path:
    """Copy the six batch files from a folder the user chose (or its cifar-10-batches-bin/)
    into ``dest`` (default: the user's data folder), each read and checked first."""
    folder = Path(folder)
    if missing_files(folder) and not missing_files(folder / ARCHIVE_FOLDER):
        folder = folder / ARCHIVE_FOLDER
    missing = missing_files(folder)
    if missing:
        raise DatasetNotFound(
            f"{folder} lacks {', '.join(missing)}. Choose the folder holding CIFAR-10's six "
            "binary batch files (cifar-10-batches-bin).",
            name="cifar10",
            can_download=True,
        )
    dest = Path(dest) if dest is not None else user_data_dir() / "cifar10"
    dest.mkdir(parents=True, exist_ok=True)
    for name in [*TRAIN_FILES, TEST_FILE]:
        read_cifar_batch(folder / name)  # raises for a damaged or foreign file
        part = dest / f"{name}.part"
        shutil.copyfile(folder / name, part)
        os.replace(part, dest / name)
    return dest
