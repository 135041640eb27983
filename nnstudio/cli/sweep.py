"""``nnstudio sweep``: a grid or a random search over project settings, on this machine's cores
or on a Dask cluster (``--scheduler``).

The project is described as for ``nnstudio train`` (train_options.py); the trials come from
nnstudio/project/sweep.py and run through sweep_runner.py. Each finished trial is printed (one
JSON object with ``--json``) and, with ``--out``, the results file is rewritten whole after
each trial, so Ctrl+C or SIGTERM keeps every trial that finished. Every trial carries the
``nnstudio train`` command that repeats it exactly.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
import time

from nnstudio.cli.setting_options import add_setting_option, loss_help, names_help
from nnstudio.cli.train_options import DATASET_OPTION_KEYS, TRAINING_OPTION_NAMES, flag
from nnstudio.project.sweep import METRICS, SweepError

EXIT_OK, EXIT_BAD_INPUT = 0, 2
_TRAIN_ONLY = ("resume", "augment", "early_stopping")
# The settings `nnstudio train` has a flag for: what a trial's command line can repeat
# (--augment is an on/off pair, and a CSV's target and columns are not swept).
_TRAIN_FLAGS = {key: flag(name) for key, name in TRAINING_OPTION_NAMES.items() if key != "augment"}
_DATASET_FLAGS = {key: flag(key) for key in DATASET_OPTION_KEYS if key not in ("target", "columns")}


def add_training_options(group) -> None:
    """The settings every trial starts from, as ``nnstudio train`` takes them."""
    from nnstudio.engine.registry import OPTIMIZERS, SCHEDULES
    from nnstudio.project import settings

    add_setting_option(group, "--epochs", settings.EPOCHS, "N")
    add_setting_option(group, "--batch-size", settings.BATCH_SIZE, "B")
    group.add_argument(
        "--optimizer", metavar="NAME", help=names_help(settings.OPTIMIZER, OPTIMIZERS)
    )
    add_setting_option(group, "--lr", settings.LEARNING_RATE, "RATE")
    group.add_argument("--schedule", metavar="NAME", help=names_help(settings.SCHEDULE, SCHEDULES))
    add_setting_option(group, "--seed", settings.SEED, "S", "The trials' seed, unless swept.")
    add_setting_option(group, "--val-split", settings.VALIDATION_SPLIT, "FRACTION")


def add_parser(commands, common, dataset_options, positive_int, non_negative_int) -> None:
    """The ``sweep`` sub-command (called by cli/main.py's build_parser)."""
    parser = commands.add_parser(
        "sweep",
        prog="nnstudio sweep",
        parents=[common, dataset_options],
        help="train many variants of a project (grid or random search) and find the best",
        description="Train one trial per combination of settings (--grid) or per random draw "
        "(--random N --ranges), on every core of this machine or on a Dask cluster, and "
        "report the best. Settings: lr, batch_size, epochs, optimizer, seed, ..., "
        "optimizer_settings.NAME, dataset.OPTION, layers.N.SETTING (layers.1.units) or a "
        "setting of every hidden layer (units, activation, l2).",
    )
    parser.add_argument("project", nargs="?", metavar="PROJECT.nnsproj", help="a project file")
    parser.add_argument("--preset", metavar="NAME", help="a shipped preset, e.g. spiral-mlp")
    parser.add_argument("--layers", metavar="TEXT", help='e.g. "Dense(64,relu),Dense(3)"')
    parser.add_argument("--loss", metavar="NAME", help=loss_help())
    add_training_options(parser.add_argument_group("settings every trial starts from"))
    search = parser.add_argument_group("the search").add_mutually_exclusive_group(required=True)
    search.add_argument("--grid", metavar="SPEC", help='e.g. "lr=1e-3,1e-2;batch_size=32,128"')
    search.add_argument("--random", type=positive_int, metavar="N", help="N random trials")
    parser.add_argument(
        "--ranges",
        metavar="SPEC",
        help='with --random: "lr=log(1e-4,1e-1);units=int(16,128);optimizer=adam,sgd"',
    )
    parser.add_argument(
        "--metric",
        choices=METRICS,
        help="what picks the best trial (default val_accuracy, val_loss for regression)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on this Dask cluster (default: a process per core here)",
    )
    parser.add_argument(
        "--workers", type=positive_int, metavar="N", help="local processes (default: one per core)"
    )
    parser.add_argument("--out", metavar="RESULTS.jsonl", help="write one line per trial here")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per finished trial, then a final one"
    )
    parser.set_defaults(**dict.fromkeys(_TRAIN_ONLY))


# -- the project and its trials -------------------------------------------------------------------


def _base_project(args):
    from nnstudio.cli.train_options import project_from_args
    from nnstudio.project import finish_project

    project = project_from_args(args)
    if not project.model.get("layers") or not project.training.loss:
        # Options only: the model follows from the dataset, and every trial must name it.
        from nnstudio.cli.train import load_with_hint

        finish_project(project, load_with_hint(project.load_dataset, download=args.download))
    return project


def _settings_list(args) -> list[dict]:
    from nnstudio.project import sweep

    if args.grid is not None:
        if args.ranges:
            raise SweepError("--ranges goes with --random N; --grid lists its values itself")
        return sweep.grid_settings(sweep.parse_grid(args.grid))
    if not args.ranges:
        raise SweepError('--random N needs --ranges, e.g. --ranges "lr=log(1e-4,1e-1)"')
    return sweep.random_settings(sweep.parse_ranges(args.ranges), args.random, args.seed or 0)


def _source_args(args) -> list[str]:
    """How the command line named the project, for a trial's `nnstudio train` command."""
    words = [args.project] if args.project else ["--preset", args.preset] if args.preset else []
    if args.dataset:
        words += ["--dataset", args.dataset]
    if args.target is not None:
        words += ["--target", args.target]
    if args.columns:
        words += ["--columns", ",".join(args.columns)]
    return words


def _source_project(args) -> dict:
    """The project as its file or preset has it, before any option: what a trial's command
    line starts from (options alone start from `train`'s empty project)."""
    from nnstudio.project import DatasetSpec, Project, TrainingSettings, load_preset, load_project

    if args.project:
        return load_project(args.project).to_dict()
    if args.preset:
        return load_preset(args.preset).to_dict()
    empty = Project(training=TrainingSettings(loss=""), dataset=DatasetSpec(""))
    return empty.to_dict()


def train_command(args, source: dict, trial: dict) -> str | None:
    """The `nnstudio train` command that repeats ``trial``, or None when a setting it changed
    has no flag (an optimizer's momentum, say): then its project in --out repeats it."""
    from nnstudio.project.layer_text import format_layers

    words = ["nnstudio", "train", *_source_args(args)]
    data = trial["project"]
    if data["model"]["layers"] != source["model"]["layers"]:
        words += ["--layers", format_layers(data["model"]["layers"])]
    for key, value in data["dataset"]["options"].items():
        if key in ("target", "columns") or value == source["dataset"]["options"].get(key):
            continue
        if key not in _DATASET_FLAGS:
            return None
        words += [_DATASET_FLAGS[key], str(value)]
    for key, value in data["training"].items():
        if key != "seed" and value == source["training"].get(key):
            continue
        if key not in _TRAIN_FLAGS or value is None:
            return None
        words += [_TRAIN_FLAGS[key], repr(value) if isinstance(value, float) else str(value)]
    return shlex.join(words)


# -- output ---------------------------------------------------------------------------------------


def _percent_or_number(metric: str, value) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if metric.endswith("accuracy") else f"{value:.4f}"


def _trial_line(record: dict, total: int) -> str:
    settings = "  ".join(f"{k}={v}" for k, v in record["settings"].items())
    head = f"trial {record['trial']}/{total}  {settings}  seed={record['seed']}"
    if "error" in record:
        return f"{head}  failed: {record['error']}"
    metrics = record["metrics"]
    shown = "  ".join(f"{m} {_percent_or_number(m, metrics.get(m))}" for m in METRICS)
    return f"{head}  {shown}  {record['seconds']:.2f} s  on {record['worker']}"


class _Report:
    """Prints each trial as it finishes and keeps --out up to date: each finished trial is
    appended as one whole line (a trial on screen is a trial on disk), and when the sweep
    ends the file is written once more in trial order."""

    def __init__(self, args, trials: list[dict], base: dict):
        self.args, self.total, self.records = args, len(trials), []
        self.by_number = {trial["trial"]: trial for trial in trials}
        self.base = base
        self._out = None  # --out, open for appending once the first trial is in it

    def __call__(self, record: dict) -> None:
        trial = self.by_number[record["trial"]]
        record["command"] = train_command(self.args, self.base, trial)
        self.records.append(record)
        if self.args.out:
            self._append(self._line(record))
        if self.args.json:
            _emit(record)
        else:
            print(_trial_line(record, self.total), flush=True)

    def _line(self, record: dict) -> str:
        full = {**record, "project": self.by_number[record["trial"]]["project"]}
        return json.dumps(full, allow_nan=False) + "\n"

    def _append(self, line: str) -> None:
        from nnstudio.atomic_file import write_atomically

        if self._out is None:  # the first trial replaces the results of an earlier sweep
            write_atomically(self.args.out, line)
            self._out = open(self.args.out, "a", encoding="utf-8")  # noqa: SIM115
        else:
            self._out.write(line)  # one whole line, not the file again (1,500 trials: 38 s)
            self._out.flush()

    def finish(self) -> None:
        """The file in trial order, whatever order the trials finished in."""
        if self._out is None:
            return
        from nnstudio.atomic_file import write_atomically

        self._out.close()
        ordered = sorted(self.records, key=lambda r: r["trial"])
        write_atomically(self.args.out, "".join(self._line(r) for r in ordered))


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record, allow_nan=False) + "\n")
    sys.stdout.flush()


def _final(args, report: _Report, interrupted: bool, seconds: float) -> dict:
    from nnstudio.project.sweep import best_trial, default_metric

    metric = args.metric or default_metric(report.records)
    failed = [r for r in report.records if "error" in r]
    return {
        "final": True,
        "metric": metric,
        "best": best_trial(report.records, metric),
        "trials": report.total,
        "finished": len(report.records) - len(failed),
        "failed": len(failed),
        "interrupted": interrupted,
        "seconds": seconds,
    }


def _print_final(summary: dict) -> None:
    best, metric = summary["best"], summary["metric"]
    done = f"{summary['finished']} of {summary['trials']} trials finished"
    lines = [
        done + (" (interrupted)" if summary["interrupted"] else "") + f" in "
        f"{summary['seconds']:.1f} s."
    ]
    if best is not None:
        settings = "  ".join(f"{k}={v}" for k, v in best["settings"].items())
        value = _percent_or_number(metric, best["metrics"][metric])
        lines.append(f"Best: trial {best['trial']} ({metric} {value}): {settings}")
        if best.get("command"):
            lines.append(f"Repeat it: {best['command']}")
    print("\n".join(lines), flush=True)


# -- the command ----------------------------------------------------------------------------------


class _StopOnSignal:
    """Ctrl+C and SIGTERM: the first asks the sweep to stop (the trials not finished are
    cancelled, the finished ones printed and written); a second one quits at once. A flag,
    not an exception, so a signal never lands in the middle of writing the results."""

    def __init__(self):
        self.stop = threading.Event()
        self.signum: int | None = None
        self.previous: dict = {}

    def __call__(self, signum, frame) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.signum = signum
        self.stop.set()
        print("nnstudio: stopping the sweep (Ctrl+C again to quit at once)", file=sys.stderr)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self.previous[number] = signal.signal(number, self)
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


def run_sweep(args: argparse.Namespace) -> int:
    from nnstudio.project.sweep import make_trials
    from nnstudio.project.sweep_runner import run_trials

    project = _base_project(args)
    trials = make_trials(project, _settings_list(args))
    if args.out:
        from nnstudio.atomic_file import refuse_same_file
        from nnstudio.cli.train import _check_writable

        if args.project:
            refuse_same_file(args.project, args.out, "--out")
        _check_writable(args.out, "--out")
    report = _Report(args, trials, _source_project(args))
    started = time.perf_counter()
    with _StopOnSignal() as signals:
        outcome = run_trials(
            trials,
            scheduler=args.scheduler,
            workers=args.workers,
            on_result=report,
            stop=signals.stop,
        )
        report.finish()
        summary = _final(args, report, outcome.interrupted, time.perf_counter() - started)
        _emit(summary) if args.json else _print_final(summary)
    if outcome.interrupted:
        print("nnstudio: interrupted; the finished trials were kept", file=sys.stderr)
        return 128 + (signals.signum or signal.SIGINT)
    return _exit_code(report.records)


def _exit_code(records: list[dict]) -> int:
    errors = [r["error"] for r in records if "error" in r]
    if errors and len(errors) == len(records):
        raise SweepError(f"every trial failed: {errors[0]}")
    if errors:
        print(f"nnstudio: {len(errors)} trial(s) failed: {errors[0]}", file=sys.stderr)
    return EXIT_OK
