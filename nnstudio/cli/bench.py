"""``nnstudio bench``: the engine benchmark (nnstudio.cli.benchmark) from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from nnstudio.cli import benchmark as bench

EXIT_OK = 0


class BenchUsageError(ValueError):
    """A bad --models value."""


def _models(text: str) -> list[str]:
    kinds = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in kinds if kind not in bench.MODELS]
    if unknown or not kinds:
        raise BenchUsageError(
            f"--models: unknown model {', '.join(unknown) or text!r}; use {', '.join(bench.MODELS)}"
        )
    return kinds


def run_bench(args: argparse.Namespace) -> int:
    kinds = _models(args.models)
    if not args.no_torch and not bench.torch_available():
        print("nnstudio: PyTorch is not installed; timing nnstudio alone", file=sys.stderr)

    # Progress goes to stderr so that --json leaves stdout to the result alone.
    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = bench.run_benchmarks(
        kinds,
        epochs=args.epochs,
        limit=args.samples,
        use_torch=False if args.no_torch else None,
        threads=args.threads,
        report=report,
    )
    if args.json:
        print(json.dumps(results))
    else:
        print(bench.format_report(results))
    return EXIT_OK
