"""The `nnstudio` command: no sub-command opens the window; train / evaluate / predict /
bench run headless.

    nnstudio [PROJECT.nnsproj]                 open the window (and the project)
    nnstudio train PROJECT.nnsproj | --dataset NAME --layers "Dense(128,relu),Dense(10)" ...
    nnstudio evaluate MODEL.nnz --dataset NAME [--json]
    nnstudio predict MODEL.nnz FILE|FOLDER... [--csv OUT.csv]
    nnstudio explain MODEL.nnz --dataset NAME --index I [--json]
    nnstudio bench
    nnstudio lr-find PROJECT.nnsproj | --preset NAME | --dataset NAME --layers ... [--json]
    nnstudio lr-find MODEL.nnz --dataset NAME [--from-current] [--json]
    nnstudio sweep PROJECT.nnsproj | --preset NAME | ... --grid SPEC | --random N --ranges SPEC
    nnstudio export MODEL.nnz --format onnx|python --out FILE
    nnstudio import MODEL.onnx --out MODEL.nnz
    nnstudio lessons [check ID [--solution]] [--json]

Exit codes: 0 success, 2 bad arguments or bad input (one line on stderr), 1 unexpected failure
(the traceback only with --debug). The headless sub-commands never import Qt (predict reads
images with Pillow); only the window, opened without a sub-command, loads it.
"""

from __future__ import annotations

# Ctrl+C while these modules load is handled before they do: see nnstudio/__init__.py.
import argparse
import contextlib
import errno
import os
import sys
import traceback

from nnstudio import __version__
from nnstudio.cli.setting_options import (
    add_setting_option,
    loss_help,
    names_help,
    setting_help,
)
from nnstudio.cli.split_option import add_split_option

COMMANDS = (
    "train",
    "evaluate",
    "predict",
    "explain",
    "landscape",
    "bench",
    "lr-find",
    "sweep",
    "export",
    "import",
    "lessons",
)
EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool its reader left


class UsageError(ValueError):
    """Bad command-line input found after parsing (a file that does not fit, say)."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: "nnstudio train: error: ... (see --help)"."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _checked(convert, accept, requirement: str, kind: str):
    """An argparse type: ``convert`` the text, then insist that ``accept(value)`` holds."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text} {requirement}")
        return value

    return parse


_positive_int = _checked(int, lambda v: v >= 1, "must be at least 1", "a whole number")
_non_negative_int = _checked(int, lambda v: v >= 0, "must be 0 or more", "a whole number")


def _column_list(text: str) -> list[str]:
    columns = [name.strip() for name in text.split(",") if name.strip()]
    if not columns:
        raise argparse.ArgumentTypeError("name at least one column, e.g. --columns age,income")
    return columns


def _add_install_desktop(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--install-desktop",
        action="store_true",
        help="add nnstudio to the desktop's application menu (launcher, icons, file types) "
        "for the current user, then exit",
    )


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show the full traceback of an unexpected error"
    )
    return common


def _dataset_options(required: bool = False) -> argparse.ArgumentParser:
    from nnstudio.project import settings  # loads the engine: only when a command is parsed

    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("dataset")
    group.add_argument(
        "--dataset",
        metavar="NAME",
        required=required,
        help="circle, xor, gaussian, spiral, moons, plane, gaussians-regression, mnist, "
        "fashion-mnist, cifar10, idx:FOLDER, csv:PATH, npz:PATH or images:FOLDER (one "
        "sub-folder of pictures per class)",
    )
    add_setting_option(group, "--samples", settings.SAMPLES, "N")
    add_setting_option(group, "--noise", settings.NOISE, "X")
    add_setting_option(group, "--classes", settings.CLASSES, "K")
    group.add_argument("--target", metavar="COLUMN", help="the target column of a CSV file")
    group.add_argument(
        "--columns",
        type=_column_list,
        metavar="A,B,...",
        help="the CSV columns to use as inputs, by name or number (default: all but the target)",
    )
    add_setting_option(group, "--image-size", settings.IMAGE_SIZE, "N")
    group.add_argument("--color", choices=settings.COLOR.choices, help=setting_help(settings.COLOR))
    group.add_argument(
        "--download",
        action="store_true",
        help="download MNIST / Fashion-MNIST / CIFAR-10 when not found on this machine",
    )
    return parent


def _add_train(commands, common) -> None:
    from nnstudio.engine.registry import OPTIMIZERS, SCHEDULES
    from nnstudio.project import settings

    train = commands.add_parser(
        "train",
        prog="nnstudio train",
        parents=[common, _dataset_options()],
        help="train a network without the window",
        description="Train a network headless: from a project file, a preset, or options. "
        "Options given next to a project or preset override its settings.",
    )
    train.add_argument("project", nargs="?", metavar="PROJECT.nnsproj", help="a project file")
    model = train.add_argument_group("model")
    model.add_argument(
        "--preset",
        metavar="NAME",
        help="start from a shipped preset, e.g. "
        "mnist-mlp, mnist-cnn, spiral-mlp, xor-net, 2d-classifier",
    )
    model.add_argument(
        "--layers",
        metavar="TEXT",
        help='the network in short form, e.g. "Conv2D(16,3,relu),MaxPool2D(2),Flatten,'
        'Dense(128,relu),Dense(10)"; the last layer has one unit per class',
    )
    model.add_argument("--loss", metavar="NAME", help=loss_help())
    opts = train.add_argument_group("training")
    add_setting_option(
        opts,
        "--epochs",
        settings.EPOCHS,
        "N",
        "With --resume, that many more (a checkpoint at epoch 40 with --epochs 20 trains to "
        "epoch 60).",
    )
    add_setting_option(opts, "--batch-size", settings.BATCH_SIZE, "B")
    opts.add_argument(
        "--optimizer", metavar="NAME", help=names_help(settings.OPTIMIZER, OPTIMIZERS)
    )
    add_setting_option(opts, "--lr", settings.LEARNING_RATE, "RATE")
    opts.add_argument("--schedule", metavar="NAME", help=names_help(settings.SCHEDULE, SCHEDULES))
    add_setting_option(opts, "--seed", settings.SEED, "S")
    opts.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=setting_help(settings.AUGMENT),
    )
    add_setting_option(opts, "--val-split", settings.VALIDATION_SPLIT, "FRACTION")
    add_setting_option(opts, "--early-stopping", settings.EARLY_STOPPING, "PATIENCE")
    files = train.add_argument_group("files")
    files.add_argument(
        "--out",
        metavar="MODEL.nnz",
        help="save the trained model here (and MODEL-history.csv beside it)",
    )
    files.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="also save a checkpoint (model + optimizer state) to resume from",
    )
    files.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue training from a checkpoint written by --checkpoint; --optimizer and "
        "--lr given with it apply (another optimizer starts with a fresh state)",
    )
    files.add_argument(
        "--from-epoch",
        type=_non_negative_int,
        metavar="K",
        help="with --resume: branch from epoch K of the checkpoint's timeline (its weights and "
        "optimizer state then) instead of its last epoch; the options given apply",
    )
    files.add_argument(
        "--save-project",
        metavar="FILE.nnsproj",
        help="write the project these options describe, to open in the window",
    )
    train.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per epoch and a final one, nothing else",
    )


def _add_evaluate(commands, common) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        prog="nnstudio evaluate",
        parents=[common, _dataset_options()],
        help="metrics and confusion matrix of a saved model",
        description="Evaluate a saved model on a dataset's test split: accuracy, per-class "
        "precision/recall/F1 and the confusion matrix (MSE/RMSE/MAE/R² for regression).",
    )
    evaluate.add_argument("model", metavar="MODEL.nnz", help="a model saved by nnstudio")
    add_split_option(evaluate, "which split to evaluate")
    evaluate.add_argument("--json", action="store_true", help="print the report as one JSON object")


def _add_predict(commands, common) -> None:
    predict = commands.add_parser(
        "predict",
        prog="nnstudio predict",
        parents=[common],
        help="classify images or CSV rows with a saved model",
        description="Print the predicted class and its probability for each input: images "
        "(PNG/JPEG/BMP/GIF/WebP, any size; digit models get MNIST-style preprocessing), "
        "folders of images or CSV rows.",
    )
    predict.add_argument("model", metavar="MODEL.nnz", help="a model saved by nnstudio")
    predict.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="images, folders of images (read with their sub-folders) or CSV files",
    )
    predict.add_argument(
        "--top",
        type=_positive_int,
        default=1,
        metavar="K",
        help="also list the K most likely classes (default 1)",
    )
    predict.add_argument("--json", action="store_true", help="one JSON object per input")
    predict.add_argument(
        "--csv",
        metavar="OUT.csv",
        help="also write the predictions to this CSV file (input, class, probability)",
    )


def _add_bench(commands, common) -> None:
    bench = commands.add_parser(
        "bench",
        prog="nnstudio bench",
        parents=[common],
        help="measure the engine's training speed on this machine",
        description="Median epoch time of an MLP 784-128-10 and small CNNs (valid and same "
        "padding) on MNIST-shaped data (the real MNIST when found), next to PyTorch when it "
        "is installed and the matrix-product floor.",
    )
    bench.add_argument(
        "--epochs",
        type=_positive_int,
        default=3,
        help="timed epochs per model (default 3; the median is reported)",
    )
    bench.add_argument(
        "--models",
        default="mlp,cnn,cnn-same",
        help="which models, comma-separated: mlp, cnn, cnn-same (same padding), cnn-same-s2 "
        "(same padding, stride 2); default mlp,cnn,cnn-same",
    )
    bench.add_argument(
        "--samples",
        type=_positive_int,
        metavar="N",
        help="use only the first N images (quicker, less exact)",
    )
    bench.add_argument(
        "--threads",
        type=_positive_int,
        default=2,
        help="threads for PyTorch (numpy's BLAS uses its own setting; default 2)",
    )
    bench.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    bench.add_argument("--json", action="store_true", help="print the results as one JSON object")


def build_parser() -> argparse.ArgumentParser:
    """The full parser: the window's optional project, or one of the sub-commands."""
    parser = _Parser(
        prog="nnstudio",
        usage="nnstudio [-h] [--version] [--install-desktop] [PROJECT.nnsproj | "
        "{train,evaluate,predict,explain,landscape,bench,lr-find,sweep,export,import,lessons} ...]",
        description="A desktop studio for neural networks, written from scratch in NumPy. "
        "Without a sub-command, opens the window (and PROJECT.nnsproj if given).",
        epilog="Run 'nnstudio COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    _add_install_desktop(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _common_options()
    _add_train(commands, common)
    _add_evaluate(commands, common)
    _add_predict(commands, common)
    from nnstudio.cli import explain  # the engine loads only when it runs

    explain.add_parser(commands, common, _dataset_options(), _non_negative_int)
    from nnstudio.cli import landscape  # the engine loads only when it runs

    landscape.add_parser(commands, common, _dataset_options(), _positive_int, _non_negative_int)
    _add_bench(commands, common)
    from nnstudio.cli import lr_find  # no Qt, no engine at import: cheap

    lr_find.add_parser(commands, common, _dataset_options(), _positive_int, _non_negative_int)
    from nnstudio.cli import sweep  # no Dask, no engine at import

    sweep.add_parser(commands, common, _dataset_options(), _positive_int, _non_negative_int)
    from nnstudio.cli import export  # onnx is imported only when a command runs

    export.add_parsers(commands, common)
    from nnstudio.cli import lessons  # the lessons and the engine load only when it runs

    lessons.add_parser(commands, common)
    return parser


def _window_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nnstudio", description="Open the nnstudio window.")
    parser.add_argument("--version", action="version", version=f"nnstudio {__version__}")
    parser.add_argument("project", nargs="?", help="a project file (.nnsproj) to open")
    _add_install_desktop(parser)
    return parser


def _first_positional(argv: list[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "train":
        from nnstudio.cli.train import run_train

        return run_train(args)
    if args.command in ("evaluate", "predict"):
        from nnstudio.cli import predict as cli_predict

        return (
            cli_predict.run_evaluate(args)
            if args.command == "evaluate"
            else (cli_predict.run_predict(args))
        )
    if args.command == "explain":
        from nnstudio.cli.explain import run_explain

        return run_explain(args)
    if args.command == "landscape":
        from nnstudio.cli.landscape import run_landscape

        return run_landscape(args)
    if args.command == "lr-find":
        from nnstudio.cli.lr_find import run_lr_find

        return run_lr_find(args)
    if args.command == "sweep":
        from nnstudio.cli.sweep import run_sweep

        return run_sweep(args)
    if args.command in ("export", "import"):
        from nnstudio.cli import export

        return export.run_export(args) if args.command == "export" else export.run_import(args)
    if args.command == "lessons":
        from nnstudio.cli.lessons import run_lessons

        return run_lessons(args)
    from nnstudio.cli.bench import run_bench

    return run_bench(args)


def _bad_input(error: BaseException) -> int:
    """One short line: a message that echoes a 100,000-layer config is cut off."""
    from nnstudio.safe_read import shorten

    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if _terminal_gone(error):
        message = "the terminal stopped taking output (input/output error); it was probably closed"
    with contextlib.suppress(OSError):  # that terminal may take no error line either
        print(f"nnstudio: error: {shorten(message, 400)}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _terminal_gone(error: BaseException) -> bool:
    """EIO with no file named: a write to a terminal that was closed (files nnstudio reads
    and writes are named in their errors)."""
    return isinstance(error, OSError) and error.errno == errno.EIO and not error.filename


def _input_too_large(error: BaseException) -> BaseException:
    """RecursionError and MemoryError only come from input too deep or too large (files are
    checked before reading; this is the last net): say so, as bad input."""
    if isinstance(error, RecursionError):
        return ValueError("the input is nested too deeply to read; check the file")
    return MemoryError(
        "the input needs more memory than this computer has; use a smaller model or file "
        "(or lower NNSTUDIO_MAX_FILE_MB so such files are refused before reading)"
    )


def _quiet_numerics():
    """A context where floating-point overflow and the like raise no RuntimeWarning lines:
    the commands report such trouble in words (a blow-up, a NaN in a file), and a warning
    line on stderr next to that one line only confuses."""
    import contextlib
    import warnings

    import numpy as np

    stack = contextlib.ExitStack()
    stack.enter_context(np.errstate(all="ignore"))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", getattr(np, "exceptions", np).ComplexWarning)
    return stack


def run_headless(args: argparse.Namespace) -> int:
    """Run a sub-command and turn its errors into the exit codes of the command line."""
    try:
        with _quiet_numerics():
            return _run_command(args)
    except BrokenPipeError:
        # The reader stopped early (``nnstudio explain … | head``): as for any Unix tool,
        # that is no error to report. Later writes to the closed pipe go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (ValueError, OSError) as error:
        # Every user-facing error of the engine, data layer and project file is a ValueError
        # subclass; OSError is a file that cannot be read or written.
        if getattr(args, "debug", False):
            traceback.print_exc()
        return _bad_input(error)
    except (RecursionError, MemoryError) as error:
        if getattr(args, "debug", False):
            traceback.print_exc()
        return _bad_input(_input_too_large(error))
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as error:  # noqa: BLE001 - the last resort of a command-line tool
        if _caused_by_interrupt(error):  # numpy turns a Ctrl+C mid-import into ImportError
            return _interrupted()
        if getattr(args, "debug", False):
            traceback.print_exc()
        else:
            print(
                f"nnstudio: unexpected error: {type(error).__name__}: {str(error)[:300]} "
                "(run again with --debug for the details)",
                file=sys.stderr,
            )
        return EXIT_FAILURE


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parse, returning argparse's exit code (0 for --help/--version, 2 for bad arguments)
    instead of raising, so that main() always returns an int."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    """Run the command line; Ctrl+C at any moment (even while modules still load, in the
    first tenth of a second) ends it with one line and 130, never a traceback. Before and
    after this function, the nnstudio command's Ctrl+C is the one nnstudio/__init__.py set.

    Every step that changes Ctrl+C is inside the ``try``: a Ctrl+C landing between two of
    them (a few microseconds, but CI once hit one) must still end in one line, not a
    traceback out of main()."""
    import signal

    previous = signal.getsignal(signal.SIGINT)  # the quiet one while it is read
    hook = sys.unraisablehook
    code = EXIT_FAILURE
    try:
        sys.unraisablehook = _unraisable_unless_ctrl_c(hook)
        _note_ctrl_c()
        code = _main(argv)
    except KeyboardInterrupt:
        code = _interrupted()
    except Exception as error:
        if not _caused_by_interrupt(error):  # numpy's ImportError while the parser is built
            raise
        code = _interrupted()
    finally:
        _RAISE_ON_CTRL_C.clear()  # from here a Ctrl+C is only noted: see the last line
        sys.unraisablehook = hook
        if previous is not None and _on_main_thread():
            signal.signal(signal.SIGINT, previous)
    if code == EXIT_OK and _CTRL_C_SEEN:
        return _interrupted()
    return code


def _unraisable_unless_ctrl_c(hook):
    """``hook`` for every error Python cannot raise, except a Ctrl+C that landed in a weakref
    callback or a finalizer (the import system's module locks have them): swallowed there,
    Python printed "Exception ignored in: … KeyboardInterrupt" and the command ran on to exit
    0. main() ends it with 130 instead."""

    def unraisable_hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            hook(unraisable)

    return unraisable_hook


_CTRL_C_SEEN = []  # a Ctrl+C arrived (an import may then fail with some other error)
_RAISE_ON_CTRL_C = []  # while the command runs, a Ctrl+C raises KeyboardInterrupt


def _on_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _note_ctrl_c() -> None:
    """Ctrl+C as Python's default, remembered: numpy turns one that lands inside its C import
    code into an ImportError with no trace of the interrupt. Off the main thread, where
    signals cannot be handled, nothing changes."""
    import signal

    def interrupt(signum, frame):
        _CTRL_C_SEEN.append(signum)
        if _RAISE_ON_CTRL_C:
            raise KeyboardInterrupt

    _CTRL_C_SEEN.clear()
    if _on_main_thread():
        _RAISE_ON_CTRL_C.append(True)
        signal.signal(signal.SIGINT, interrupt)


def _interrupted() -> int:
    print("nnstudio: interrupted", file=sys.stderr)
    return 130


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether a Ctrl+C is behind ``error``: one arrived, or a KeyboardInterrupt is its cause
    or context."""
    if _CTRL_C_SEEN:
        return True
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = _first_positional(argv)
    if first in COMMANDS or first is None and any(a in ("-h", "--help") for a in argv):
        args = _parse(build_parser(), argv)
        if isinstance(args, int):
            return args
        if args.command is not None:
            return run_headless(args)
    args = _parse(_window_parser(), argv)
    if isinstance(args, int):
        return args
    if args.install_desktop:
        from nnstudio.cli.desktop import main as install_desktop

        return install_desktop()
    _quiet_ctrl_c_in_the_window()
    from nnstudio.ui.app import run_app

    return run_app(args.project)


def _quiet_ctrl_c_in_the_window() -> None:
    """Ctrl+C in the terminal that opened the window ends it at once, as it ends most
    programs (unsaved work is in the autosave, offered at the next start). A KeyboardInterrupt
    would land in whichever Qt callback ran next: a traceback, and the window stayed open."""
    import signal
    import threading

    from nnstudio import quiet_interrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, quiet_interrupt)


if __name__ == "__main__":
    sys.exit(main())
