"""Properties over the surfaces issue 38 attacked: ``train --resume`` of a mutated checkpoint,
sweep specs, lesson files and export targets. Each run exits 0, or 2 with one line; never 1,
never a traceback, never the content of a file nobody named, never a damaged input.

Training runs make these slower than the parsers' properties: the quick mode (CI) runs
``QUICK`` examples each; NNSTUDIO_FUZZ_EXAMPLES sets the long mode's count.
"""

import json
import os
import zipfile
from pathlib import Path

import pytest
from cli_runner import check_contract, note_outcome, run_cli
from conftest import EXAMPLES
from hostile_corpus import _project, stored, write_zip
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import json_values, mutated

QUICK = 15
SECRET = "SECRET-FIRST-LINE"
examples = settings(max_examples=EXAMPLES or QUICK)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("surfaces")
    (folder / "outside").mkdir()
    (folder / "outside" / "secret.csv").write_text(f"{SECRET}\n1\n")
    return folder


def _no_secret(result) -> None:
    assert SECRET not in result.stdout + result.stderr


# -- train --resume -------------------------------------------------------------------------------


def _base_checkpoint() -> dict[str, bytes]:
    """The members of a one-epoch moons checkpoint, made once when the module loads: the
    strategies below mutate its JSON, and a strategy must not depend on a fixture."""
    import tempfile

    path = Path(tempfile.mkdtemp()) / "base.ckpt"
    argv = ["train", "--dataset", "moons", "--samples", "60", "--epochs", "1", "--json"]
    assert run_cli([*argv, "--checkpoint", path]).code == 0
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


BASE = _base_checkpoint()
PROJECT = json.loads(BASE["model.json"])["metadata"]["project_file"]
OUTSIDE = ["csv:../outside/secret.csv", "csv:/etc/shadow"]  # files beyond the checkpoint
mutated_members = st.one_of(
    st.tuples(st.just("training.json"), mutated(json.loads(BASE["training.json"]))),
    st.tuples(st.just("timeline.json"), mutated(json.loads(BASE["timeline.json"]))),
    st.tuples(st.just("project"), mutated(PROJECT, ("weights", "metadata"))),
    st.tuples(
        st.just("project"),
        st.sampled_from(OUTSIDE).flatmap(
            lambda name: mutated({**PROJECT, "dataset": {"name": name, "options": {}}})
        ),
    ),
)


def _with_project_file(members: dict, text: str) -> bytes:
    """model.json with ``text`` as its project (spliced in: it may be nested 100,000 deep)."""
    info = json.loads(members["model.json"])
    info["metadata"]["project_file"] = "__PROJECT__"
    return json.dumps(info).replace('"__PROJECT__"', text).encode()


@examples
@given(change=mutated_members)
def test_resume_of_a_mutated_checkpoint_is_one_line_or_a_run(folder, change):
    member, text = change
    members = dict(BASE)
    if member == "project":
        members["model.json"] = _with_project_file(members, text)
    else:
        members[member] = text.encode()
    path = write_zip(folder / "mutated.ckpt", [stored(n, d) for n, d in members.items()])
    result = run_cli(["train", "--resume", path, "--epochs", "2", "--json"])
    note_outcome(result, f"resume {member}")
    check_contract(result, what=f"resume with a mutated {member}")
    _no_secret(result)
    assert "root:" not in result.stdout + result.stderr


# -- sweep specs ----------------------------------------------------------------------------------

NAMES = ["lr", "batch_size", "epochs", "units", "layers.0.units", "layers.9.units", "optimizer"]
NAMES += ["seed", "dataset.samples", "optimizer_settings.momentum", "colour", "", "activation"]
VALUES = ["0", "-1", "1e-3", "0.1", "1e308", "nan", "inf", "adam", "x", "", "2", "3"]
VALUES += ["log(1e-4,1e-1)", "int(1,3)", "uniform(0,1)", "log(0,1)", "int(3,1)", "99999999999"]
specs = st.lists(
    st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(VALUES), min_size=1, max_size=3)),
    min_size=1,
    max_size=3,
).map(lambda items: ";".join(f"{name}={','.join(values)}" for name, values in items))


def _shortened(project: dict) -> None:
    """At most 2 epochs on at most 200 points: epochs=99999999999 is a valid sweep that
    trains for ever, which tells nothing about hostile input."""
    training, options = project["training"], project["dataset"]["options"]
    if isinstance(training.get("epochs"), int):
        training["epochs"] = min(training["epochs"], 2)
    if isinstance(options.get("samples"), int):
        options["samples"] = min(options["samples"], 200)


def _first_trials_in_process(trials, *, on_result=None, **_):
    """The sweep's runner, in this process: the first two trials train for real, the others
    are reported as skipped (a fuzz run must stay quick whatever the spec)."""
    from nnstudio.project.sweep import run_trial
    from nnstudio.project.sweep_runner import SweepOutcome

    outcome = SweepOutcome()
    for index, trial in enumerate(trials):
        if index < 2:
            _shortened(trial["project"])
            record = json.loads(run_trial(json.dumps(trial, allow_nan=False)))
        else:
            record = {key: trial[key] for key in ("trial", "settings", "seed")}
            record.update(error="skipped by the fuzz runner", seconds=None, worker=None)
        outcome.records.append(record)
        on_result(record)
    return outcome


@examples
@given(spec=specs, random=st.sampled_from([None, 1, 3, 10**11]))
def test_any_sweep_spec_is_run_or_refused_in_one_line(monkeypatch, folder, spec, random):
    import nnstudio.project.sweep_runner as runner

    monkeypatch.setattr(runner, "run_trials", _first_trials_in_process)
    search = ["--grid", spec] if random is None else ["--random", random, "--ranges", spec]
    base = ["sweep", "--dataset", "moons", "--samples", "60", "--epochs", "1"]
    result = run_cli([*base, *search, "--out", folder / "sweep.jsonl", "--json"])
    note_outcome(result, "sweep")
    check_contract(result, what=f"sweep {search}")


# -- lesson files -------------------------------------------------------------------------------


def _lesson() -> dict:
    return {
        "id": "fuzz",
        "title": "Fuzz",
        "explanation": "Words.",
        "start": {"project": {k: v for k, v in _project().items() if k in ("dataset", "model")}},
        "task": "Do it.",
        "hints": ["One."],
        "check": {"kind": "final_metric", "metric": "val_accuracy", "at_least": 0.5},
        "solution": {"explanation": "Like this.", "training": {"epochs": 1}},
    }


@examples
@given(data=st.data())
def test_a_mutated_lesson_file_is_listed_or_skipped(monkeypatch, folder, data):
    lessons = folder / "data" / "lessons"
    lessons.mkdir(parents=True, exist_ok=True)
    lesson = _lesson()
    if data.draw(st.booleans()):  # a file the learner never named
        paths = ["csv:../../outside/secret.csv", "csv:/etc/shadow"]
        lesson["start"]["project"]["dataset"] = data.draw(st.sampled_from(paths))
    text = data.draw(mutated(lesson, ("answer", "colour")))
    (lessons / "fuzz.json").write_text(text)
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(folder / "data"))
    result = run_cli(["lessons", "--json"])
    note_outcome(result, "lessons")
    check_contract(result, what=text[:200])
    _no_secret(result)
    assert "root:" not in result.stdout + result.stderr


# -- export targets ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(folder):
    from hostile_corpus import good_model

    return good_model(folder)[0]


def _target(folder: Path, model: Path, kind: str) -> Path:
    """An --out of the given kind; every one must be refused or written, nothing else."""
    place = folder / "targets"
    place.mkdir(exist_ok=True)
    if kind == "fifo" and hasattr(os, "mkfifo"):
        path = place / "fifo.onnx"
        if not path.exists():
            os.mkfifo(path)
        return path
    return {
        "folder": place,
        "missing-folder": place / "nope" / "m.onnx",
        "dev-null": Path("/dev/null"),
        "the-model": model,
        "link-to-model": _link(place / "link.onnx", model),
        "npz-name": place / "weights.npz",
        "not-identifier.py": place / "1 bad-name.py",
        "user-npz-beside": _user_npz(place),
        "plain": place / "plain.onnx",
    }.get(kind, place / "plain.onnx")


def _link(path: Path, target: Path) -> Path:
    if not path.is_symlink():
        path.symlink_to(target)
    return path


def _user_npz(place: Path) -> Path:
    (place / "mydata.npz").write_bytes(b"the user's data")
    return place / "mydata.py"


KINDS = ["folder", "missing-folder", "dev-null", "the-model", "link-to-model", "npz-name"]
KINDS += ["not-identifier.py", "user-npz-beside", "plain", "fifo"]


@examples
@given(kind=st.sampled_from(KINDS), fmt=st.sampled_from(["onnx", "python"]))
def test_any_export_target_is_written_or_refused_leaving_inputs_alone(
    folder, model_file, kind, fmt
):
    pytest.importorskip("onnx")
    before = model_file.read_bytes()
    target = _target(folder, model_file, kind)
    result = run_cli(["export", model_file, "--format", fmt, "--out", target])
    note_outcome(result, f"export {fmt}")
    check_contract(result, what=f"export {fmt} to {kind}")
    assert model_file.read_bytes() == before
    if kind == "user-npz-beside":
        assert (folder / "targets" / "mydata.npz").read_bytes() == b"the user's data"


@examples
@given(value=json_values)
def test_an_export_of_a_model_with_odd_metadata_is_written_or_refused(folder, model_file, value):
    """What export writes comes from the model file: its metadata goes into the ONNX file."""
    pytest.importorskip("onnx")
    with zipfile.ZipFile(model_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    info = json.loads(members["model.json"])
    info["metadata"] = {"note": value}
    members["model.json"] = json.dumps(info).replace('"__DEEP_NESTING__"', "null").encode()
    path = write_zip(folder / "odd.nnz", [stored(n, d) for n, d in members.items()])
    result = run_cli(["export", path, "--format", "onnx", "--out", folder / "odd.onnx"])
    check_contract(result, what=f"metadata {value!r:.100}")
