"""A corpus of hostile files and the command lines to run on them (issue 23).

    python tests/fuzz/hostile_corpus.py OUT_FOLDER          write the files, list the runs
    python tests/fuzz/hostile_corpus.py OUT_FOLDER --run    also run each one in a subprocess
                                                            and print exit codes, peak memory

``tests/fuzz/test_corpus.py`` runs the same corpus in-process. Every run must end with exit 0,
or exit 2 and one line on stderr; never exit 1 or a traceback. Zip bombs are made without
ever holding the expanded data: a deflate stream of zeros is one 1 MB block, full-flushed,
repeated (their CRC is left 0: nothing may read them far enough to check it).
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GB = 1 << 30
MB = 1 << 20


@dataclass
class Run:
    name: str
    argv: list[str]
    expect: frozenset = frozenset({2})  # the allowed exit codes
    heavy: bool = False  # a bomb: also measured in a subprocess for peak memory
    env: dict = field(default_factory=dict)


# -- building blocks ------------------------------------------------------------------------------


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream expanding to ``size`` zero bytes (a multiple of 1 MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(bytes(MB)) + packer.flush(zlib.Z_FULL_FLUSH)
    return block * (size // MB) + b"\x03\x00"  # then an empty final block


@dataclass
class Member:
    name: str
    data: bytes  # as stored in the archive
    size: int  # the declared uncompressed size
    deflated: bool = False
    crc: int = 0


def stored(name: str, data: bytes) -> Member:
    return Member(name, data, len(data), False, zlib.crc32(data))


def write_zip(path: Path, members: list[Member], entries: int | None = None) -> Path:
    """A zip written by hand, so declared sizes and entry counts can lie."""
    body, directory = io.BytesIO(), io.BytesIO()
    for member in members:
        name = member.name.encode()
        method = 8 if member.deflated else 0
        offset = body.tell()
        sizes = (member.crc, len(member.data), member.size)
        body.write(
            struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, *sizes, len(name), 0)
        )
        body.write(name + member.data)
        directory.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0,
                *sizes,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    count = len(members) if entries is None else entries
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, directory.tell(), body.tell(), 0)
    path.write_bytes(body.getvalue() + directory.getvalue() + end)
    return path


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_claiming(shape: tuple, data: bytes = b"") -> bytes:
    """An .npy whose header claims ``shape`` of float32, followed by ``data`` only."""
    buffer = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def good_model(folder: Path) -> tuple[Path, dict, dict]:
    """A small moons classifier: (path, model.json dict, weights dict)."""
    from nnstudio.engine.io import save_model
    from nnstudio.engine.layers import Dense
    from nnstudio.engine.model import Sequential

    model = Sequential([Dense(8, activation="relu"), Dense(2)], input_shape=(2,))
    path = save_model(
        folder / "good.nnz",
        model,
        class_names=["a", "b"],
        metadata={"dataset": {"name": "moons", "options": {"samples": 60}}},
    )
    with zipfile.ZipFile(path) as archive:
        info = json.loads(archive.read("model.json"))
    return path, info, model.state_dict()


def model_file(path: Path, info: dict | bytes, weights: dict | bytes, *extra: Member) -> Path:
    data = info if isinstance(info, bytes) else json.dumps(info).encode()
    arrays = weights if isinstance(weights, bytes) else npz_bytes(**weights)
    return write_zip(path, [stored("model.json", data), stored("weights.npz", arrays), *extra])


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- the corpus -----------------------------------------------------------------------------------


def _model_variants(folder: Path, info: dict, weights: dict) -> dict[str, Path]:
    """Hostile model files by name."""
    bomb = deflated_zeros(3 * GB)
    zero_weights = {name: np.zeros_like(array) for name, array in weights.items()}
    files: dict[str, Path] = {}

    def variant(name, **changes):
        files[name] = model_file(folder / f"{name}.nnz", {**info, **changes}, weights)

    def member_variant(name, members, entries=None):
        files[name] = write_zip(folder / f"{name}.nnz", members, entries)

    good_json = stored("model.json", json.dumps(info).encode())
    good_npz = stored("weights.npz", npz_bytes(**weights))
    member_variant(
        "unused-3gb-member", [good_json, good_npz, Member("junk.bin", bomb, 3 * GB, True)]
    )
    member_variant("weights-bomb", [good_json, Member("weights.npz", bomb, 3 * GB, True)])
    member_variant("model-json-bomb", [Member("model.json", bomb, 3 * GB, True), good_npz])
    lying = Member("weights.npz", good_npz.data, 3 * GB, False, good_npz.crc)
    member_variant("weights-declares-3gb", [good_json, lying])
    member_variant("lies-70000-entries", [good_json, good_npz], entries=65535)
    member_variant("no-model-json", [good_npz])
    member_variant("no-weights", [good_json])
    member_variant("weights-not-npz", [good_json, stored("weights.npz", b"hello")])
    huge_npy = write_zip(
        folder / "inner.zip", [stored("0.W.npy", npy_claiming((10**14,), bytes(64)))]
    ).read_bytes()
    member_variant("npy-claims-364tib", [good_json, stored("weights.npz", huge_npy)])
    files["nan-weights"] = model_file(
        folder / "nan-weights.nnz", info, {**weights, "0.W": np.full_like(weights["0.W"], np.nan)}
    )
    files["inf-weights"] = model_file(
        folder / "inf-weights.nnz", info, {**weights, "1.b": np.full_like(weights["1.b"], np.inf)}
    )
    files["object-weights"] = model_file(
        folder / "object-weights.nnz", info, npz_bytes(**{"0.W": np.array([{}], dtype=object)})
    )
    files["deep-json"] = model_file(folder / "deep-json.nnz", nested(100_000).encode(), weights)
    files["not-utf8-json"] = model_file(folder / "not-utf8.nnz", b"\xff\xfe{", weights)
    whole = files["nan-weights"].read_bytes()
    (folder / "truncated.nnz").write_bytes(whole[: len(whole) // 2])
    files["truncated"] = folder / "truncated.nnz"
    (folder / "text.nnz").write_text("not a model\n")
    files["text"] = folder / "text.nnz"
    (folder / "empty.nnz").write_bytes(b"")
    files["empty"] = folder / "empty.nnz"
    for key, values in {
        "metadata": [5, "x", [1], {"dataset": "csv:/etc/shadow"}, {"dataset": {"name": 5}}],
        "loss_settings": [5, [], "x"],
        "loss": [5, {}, [], {"type": 5}, "no-such-loss"],
        "class_names": [5, "ab", [[1]], [{}]],
        "preprocessing": [
            5,
            [],
            {"method": "standardize"},
            {"scaling": {"method": "standardize", "mean": "a", "std": [0, 0]}},
            {"scaling": {"method": "minmax", "min": [0, 0], "max": [0, 0]}},
            {"scaling": {"method": "standardize", "mean": [0], "std": [1, 1]}},
            {"scaling": {"method": "standardize", "mean": [0, 0, 0], "std": [1, 1, 1]}},
            {"encoding": 5},
            {"encoding": {"delimiter": 5}},
            {"feature_names": 5},
        ],
        "dtype": ["object", 5, "float16"],
        "format_version": [2**80, "1", None, 0],
        "format": [None, 5],
        "nnstudio_version": [5],
    }.items():
        for index, value in enumerate(values):
            variant(f"{key}-{index}", **{key: value})
    config = info["config"]
    for name, changed in {
        "dense-100000-x3": {
            "input_shape": [784],
            "layers": [{"type": "Dense", "units": 100000}] * 3,
        },
        "input-1e12-float": {**config, "input_shape": [1e12]},
        "input-1e12": {**config, "input_shape": [10**12]},
        "100000-layers": {"input_shape": [2], "layers": [{"type": "ReLU"}] * 100_000},
        "no-layers-list": {"input_shape": [2], "layers": 5},
        "unknown-layer": {"input_shape": [2], "layers": [{"type": "Nope" * 1000}]},
        "units-text": {"input_shape": [2], "layers": [{"type": "Dense", "units": "a"}]},
        "units-negative": {"input_shape": [2], "layers": [{"type": "Dense", "units": -1}]},
        "units-2e80": {"input_shape": [2], "layers": [{"type": "Dense", "units": 2**80}]},
        "config-list": [1, 2],
        "no-input-shape": {"layers": config["layers"]},
    }.items():
        variant(f"config-{name}", config=changed)
    files["config-wrong-weights"] = model_file(
        folder / "config-wrong-weights.nnz", info, {"0.W": np.zeros((3, 3), np.float32)}
    )
    files["zero-weights"] = model_file(folder / "zero-weights.nnz", info, zero_weights)
    return files


def _project(**changes) -> dict:
    project = {
        "format": "nnstudio-project",
        "version": 1,
        "name": "fuzz",
        "dataset": {"name": "moons", "options": {"samples": 60}},
        "model": {
            "layers": [
                {"type": "Dense", "units": 8, "activation": "relu"},
                {"type": "Dense", "units": 2},
            ]
        },
        "training": {"epochs": 1, "batch_size": 16},
    }
    for dotted, value in changes.items():
        target, *path, last = [project, *dotted.split(".")]
        for key in path:
            target = target.setdefault(key, {})
        target[last] = value
    return project


def _project_variants(folder: Path, fifo: Path | None) -> dict[str, Path]:
    files: dict[str, Path] = {}

    def write(name, content):
        path = folder / f"{name}.nnsproj"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        files[name] = path

    write("good", _project())
    big_layer = {"type": "Dense", "units": 100000}
    for name, changes in {
        "seed-2e80": {"training.seed": 2**80},
        "batch-1e12": {"training.batch_size": 10**12},
        "batch-float": {"training.batch_size": 1e12},
        "momentum-text": {
            "training.optimizer": "sgd",
            "training.optimizer_settings": {"momentum": "a"},
        },
        "test-fraction-text": {"dataset.options": {"test_fraction": "a"}},
        "columns-5": {"dataset.options": {"columns": 5}},
        "samples-text": {"dataset.options": {"samples": "a"}},
        "unknown-option": {"dataset.options": {"shadow": 1}},
        "dataset-dev-zero": {"dataset": {"name": "csv:/dev/zero"}},
        "dataset-missing": {"dataset": {"name": "csv:/nonexistent.csv"}},
        "dataset-5": {"dataset": 5},
        "dense-100000-x3": {"model.layers": [big_layer] * 3 + [{"type": "Dense", "units": 2}]},
        "100000-layers": {"model.layers": [{"type": "ReLU"}] * 100_000},
        "input-1e12": {"model.input_shape": [10**12]},
        "layers-text": {"model.layers": "Dense"},
        "layer-no-type": {"model.layers": [{"units": 3}]},
        "units-2e80": {"model.layers": [{"type": "Dense", "units": 2**80}]},
        "lr-nan": {"training.learning_rate": float("nan")},
        "lr-text": {"training.learning_rate": "fast"},
        "epochs-0": {"training.epochs": 0},
        "loss-5": {"training.loss": 5},
        "metadata-5": {"metadata": 5},
        "weights-5": {"weights": 5},
        "version-2e80": {"version": 2**80},
    }.items():
        write(name, _project(**changes))
    if fifo is not None:
        write("dataset-fifo", _project(**{"dataset": {"name": f"csv:{fifo}"}}))
    write("deep", nested(100_000))
    write("deep-100", json.dumps(_project(metadata={"a": json.loads(nested(100))})))
    write("not-json", "{ nope")
    write("list", "[1, 2]")
    write("huge-int", '{"format": "nnstudio-project", "version": ' + "9" * 5000 + "}")
    (folder / "binary.nnsproj").write_bytes(b"\x00\xff" * 100)
    files["binary"] = folder / "binary.nnsproj"
    sparse = folder / "sparse-2gb.nnsproj"
    with open(sparse, "wb") as file:
        file.truncate(2 * GB)
    files["sparse-2gb"] = sparse
    return files


def _csv_variants(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    texts = {
        "good": "x,y\n0.1,0.2\n1.0,-0.5\n",
        "nan": "x,y\n0.1,nan\n",
        "inf": "x,y\ninf,0.2\n",
        "1e309": "x,y\n1e309,0.2\n",
        "1e300": "x,y\n1e300,0.2\n",
        "ragged": "x,y\n0.1,0.2\n0.3\n",
        "ragged-no-header": "0.1,0.2\n0.3\n",
        "duplicate-header": "x,x\n0.1,0.2\n",
        "text-cell": "x,y\n0.1,abc\n",
        "header-only": "x,y\n",
        "empty": "",
        "one-column": "x\n1\n",
        "quote": 'x,y\n"0.1,0.2\n',
    }
    for name, text in texts.items():
        path = folder / f"{name}.csv"
        path.write_text(text)
        files[name] = path
    (folder / "binary.csv").write_bytes(b"\x00\x01\x02" * 100)
    files["binary"] = folder / "binary.csv"
    sparse = folder / "sparse-2gb.csv"
    with open(sparse, "wb") as file:
        file.write(b"x,y\n0.1,0.2\n")
        file.truncate(2 * GB)
    files["sparse-2gb"] = sparse
    # The head of a 100k × 500 table (each value ~8 bytes), as big as the whole would be.
    wide = folder / "wide-100k-x-500.csv"
    row = ",".join(["0.123456"] * 499) + ",1\n"
    with open(wide, "wb") as file:
        file.write((",".join(f"c{i}" for i in range(499)) + ",label\n").encode())
        file.write(row.encode() * 100)
        file.truncate(100_000 * len(row))
    files["wide-100k-x-500"] = wide
    return files


def _train_csv_variants(folder: Path) -> dict[str, Path]:
    """CSV files for training: a label column and enough rows to split."""
    rows = "".join(f"{i % 7 / 7},{i % 3},{i % 2}\n" for i in range(60))
    files = {}
    for name, (header, extra) in {
        "train-good": ("a,b,label\n", ""),
        "train-duplicate": ("a,a,label\n", ""),
        "train-1e300": ("a,b,label\n", "1e300,1,0\n"),
        "train-inf": ("a,b,label\n", "inf,1,0\n"),
        "train-ragged": ("a,b,label\n", "1,0\n"),
    }.items():
        path = folder / f"{name}.csv"
        path.write_text(header + rows + extra)
        files[name] = path
    return files


def _checkpoint_variants(folder: Path) -> dict[str, Path]:
    """A moons checkpoint, and copies with training.json's fields of the wrong type."""
    from nnstudio.cli.main import main

    good = folder / "good.ckpt"
    argv = ["train", "--dataset", "moons", "--samples", "60", "--epochs", "1", "--json"]
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            assert main([*argv, "--checkpoint", str(good)]) == 0
        finally:
            sys.stdout = stdout
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    training = json.loads(members["training.json"])
    files = {"good": good}
    for key, value in {
        "epoch": ["a", -3, 2**80],
        "history": [5, [5]],
        "optimizer": [5, {"type": "nope"}, {"type": "adam", "lr": "a"}],
        "fit_config": [5, {"epochs": "a"}, {"nope": 1}],
    }.items():
        for index, bad in enumerate(value):
            changed = {**members, "training.json": json.dumps({**training, key: bad}).encode()}
            path = folder / f"ckpt-{key}-{index}.ckpt"
            write_zip(path, [stored(name, data) for name, data in changed.items()])
            files[f"{key}-{index}"] = path
    path = folder / "ckpt-no-optimizer.ckpt"
    write_zip(path, [stored(n, d) for n, d in members.items() if n != "optimizer.npz"])
    files["no-optimizer"] = path
    return files


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header says width × height (its pixel data is a stub)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )
    return path


MUST_REFUSE = {
    "weights-bomb",
    "model-json-bomb",
    "weights-declares-3gb",
    "lies-70000-entries",
    "no-model-json",
    "no-weights",
    "weights-not-npz",
    "npy-claims-364tib",
    "nan-weights",
    "inf-weights",
    "object-weights",
    "deep-json",
    "not-utf8-json",
    "truncated",
    "text",
    "empty",
    "config-dense-100000-x3",
    "config-input-1e12-float",
    "config-input-1e12",
    "config-100000-layers",
    "config-wrong-weights",
}
# Mutations that may legitimately work (a setting the engine clamps, an unused field).
MAY_WORK = {"seed-2e80", "batch-1e12", "columns-5", "unknown-option", "good", "version-2e80"}


def build(folder) -> list[Run]:
    """Write the corpus into ``folder`` and return the runs over it."""
    from nnstudio.engine.io import save_model
    from nnstudio.engine.layers import Dense, Flatten
    from nnstudio.engine.model import Sequential

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good, info, weights = good_model(folder)
    fifo = folder / "fifo"
    if hasattr(os, "mkfifo") and not fifo.exists():
        os.mkfifo(fifo)
    runs: list[Run] = []
    csvs = _csv_variants(folder)
    evaluate = ["evaluate", "--json", "--dataset", "moons", "--samples", "60"]
    for name, path in _model_variants(folder, info, weights).items():
        # A mutated field the command does not use may well succeed; these must be refused.
        ok = frozenset({2}) if name in MUST_REFUSE else frozenset({0, 2})
        ok = frozenset({0}) if name in ("unused-3gb-member", "zero-weights") else ok
        heavy = "bomb" in name or "3gb" in name or "364tib" in name or "100000" in name
        runs.append(Run(f"evaluate {name}", [*evaluate, str(path)], ok, heavy))
        runs.append(Run(f"predict {name}", ["predict", str(path), str(csvs["good"])], ok, heavy))
        own = frozenset({0, 2}) if name not in MUST_REFUSE else ok
        runs.append(Run(f"evaluate-own-dataset {name}", ["evaluate", str(path)], own))
    for name, path in csvs.items():
        ok = frozenset({0}) if name == "good" else frozenset({2})
        ok = frozenset({0, 2}) if name == "duplicate-header" else ok  # by position: fine
        heavy = "sparse" in name or "wide" in name
        runs.append(Run(f"predict csv {name}", ["predict", str(good), str(path)], ok, heavy))
    image_model = save_model(
        folder / "digits.nnz", Sequential([Flatten(), Dense(10)], input_shape=(1, 28, 28))
    )
    huge_png = png_claiming(folder / "20000x20000.png", 20000, 20000)
    runs.append(
        Run("predict png 20000x20000", ["predict", str(image_model), str(huge_png)], heavy=True)
    )
    for special in ("/dev/zero", str(fifo), str(folder), str(folder / "missing.csv")):
        runs.append(Run(f"predict {special}", ["predict", str(good), special]))
        runs.append(Run(f"evaluate model {special}", [*evaluate, special]))
        runs.append(Run(f"train {special}", ["train", special]))
    train = ["train", "--json", "--epochs", "1"]
    for name, path in _project_variants(folder, fifo if fifo.exists() else None).items():
        ok = frozenset({0, 2}) if name in MAY_WORK else frozenset({2})
        runs.append(Run(f"train project {name}", [*train, str(path)], ok, "2gb" in name))
    for name, path in _train_csv_variants(folder).items():
        ok = frozenset({0}) if name == "train-good" else frozenset({2})
        runs.append(Run(f"train {name}", [*train, "--dataset", f"csv:{path}"], ok))
    for name, path in _checkpoint_variants(folder).items():
        ok = frozenset({0, 2}) if name == "good" else frozenset({2})
        runs.append(Run(f"resume checkpoint {name}", [*train, "--resume", str(path)], ok))
    for name in sorted(MUST_REFUSE)[:8]:
        path = folder / f"{name}.nnz"
        runs.append(Run(f"resume model {name}", [*train, "--resume", str(path)]))
    shadow = model_file(
        folder / "reads-shadow.nnz",
        {**info, "metadata": {"dataset": {"name": "csv:/etc/shadow"}}},
        weights,
    )
    runs.append(Run("evaluate metadata csv:/etc/shadow", ["evaluate", str(shadow)]))
    return runs


def run_in_subprocess(run: Run) -> tuple[int, str, int]:
    """(exit code, stderr, peak resident memory in bytes) of the run in a fresh process."""
    import subprocess

    script = "import sys; from nnstudio.cli.main import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", script, *run.argv]
    env = {**os.environ, **run.env}
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    ) as process:
        stderr = process.stderr.read().decode("utf-8", "replace")
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, stderr, usage.ru_maxrss * 1024  # Linux reports KB


def main(argv: list[str], make_runs=build, usage: str = __doc__) -> int:
    """List (or with --run, run and report) ``make_runs(OUT_FOLDER)``."""
    if not argv:
        print(usage)
        return 2
    runs = make_runs(argv[0])
    print(f"{len(runs)} runs over the files in {argv[0]}")
    if "--run" not in argv:
        for run in runs:
            print(f"  {run.name}: nnstudio {' '.join(run.argv)}")
        return 0
    codes: dict[int, int] = {}
    worst = (0, "")
    failures = 0
    for run in runs:
        code, stderr, peak = run_in_subprocess(run)
        codes[code] = codes.get(code, 0) + 1
        worst = max(worst, (peak, run.name))
        lines = [line for line in stderr.splitlines() if line.strip()]
        bad = code not in run.expect or (code == 2 and len(lines) != 1) or "Traceback" in stderr
        failures += bad
        print(
            f"{'FAIL' if bad else 'ok  '} {code} {peak / MB:7.0f} MB  {run.name}: "
            f"{stderr.strip()[:160]}"
        )
    print(
        f"exit codes: {dict(sorted(codes.items()))}; worst peak {worst[0] / MB:.0f} MB ({worst[1]})"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
