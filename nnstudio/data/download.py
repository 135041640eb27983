"""Downloads that never leave a broken file: mirrors, progress, resume, verification.

`download_file` fetches into `DEST.part`, resuming with an HTTP Range request after an
interruption (or restarting when the server ignores Range), checks the finished file with a
verifier (e.g. the SHA-256 of the uncompressed data) and only then renames it to DEST. A file
that fails verification is deleted and the next mirror is tried. When no mirror can even be
reached it raises NoNetworkError, whose message says so and what to do instead.

>>> from pathlib import Path
>>> def show(done, total, message): print(message, done, total)
>>> # download_file(["https://a.example/f.gz", "https://b.example/f.gz"], Path("f.gz"),
>>> #               verify=gunzipped_sha256("ba89…"), progress=show)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from .dataset import DatasetError, format_size

CHUNK = 1 << 16
USER_AGENT = f"nnstudio/{__version__} (+dataset download)"


class DownloadError(DatasetError):
    """A download failed on every mirror; the message lists what each one did."""


class NoNetworkError(DownloadError):
    """No mirror could be reached at all: most likely this computer is offline."""


class DownloadCancelled(DownloadError):
    """The user cancelled; the partial file is kept so the next attempt resumes."""


class _Unreachable(Exception):
    """Could not connect (DNS failure, refused, unreachable network, time-out)."""


class _Interrupted(Exception):
    """The connection broke during the transfer; the .part file holds what arrived."""


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if hasattr(cancel, "is_set") else bool(cancel())


def _open(url: str, offset: int, timeout: float):
    import http.client  # the network modules (and OpenSSL) load only for a download
    import urllib.error
    import urllib.request

    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError:
        raise  # an answer (404, 416...), not a failure to connect; HTTPError is a URLError
    except urllib.error.URLError as error:
        raise _Unreachable(str(error.reason)) from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise _Unreachable(str(error) or type(error).__name__) from None


def _start_offset(response, offset: int, part: Path) -> int:
    """Where the body starts: `offset` for a 206 answer to our Range request, else 0."""
    if offset and response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        if content_range.startswith(f"bytes {offset}-"):
            return offset
    # The server ignored Range (200) or answered another range: start the file again.
    part.unlink(missing_ok=True)
    return 0


def _fetch(url, part: Path, label, progress, cancel, timeout) -> None:
    """Append the rest of `url` to `part`; raises _Interrupted if the body ends early."""
    import http.client
    import urllib.error

    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # our part is not a prefix of this file
            part.unlink(missing_ok=True)
            raise _Interrupted("the saved part did not fit; starting again") from None
        raise
    with response:
        done = _start_offset(response, offset, part)
        length = response.headers.get("Content-Length")
        total = done + int(length) if length is not None else None
        with part.open("ab" if done else "wb") as file:
            while True:
                if _is_cancelled(cancel):
                    raise DownloadCancelled(
                        f"Download of {label} cancelled; it resumes where it stopped next time."
                    )
                try:
                    chunk = response.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as error:
                    raise _Interrupted(
                        f"connection lost after {format_size(done)}: {type(error).__name__}"
                    ) from None
                if not chunk:
                    break
                file.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total, label)
    if total is not None and done < total:
        raise _Interrupted(f"connection closed after {format_size(done)} of {format_size(total)}")


def download_file(
    urls,
    dest,
    *,
    verify: Callable[[Path], None] | None = None,
    progress: Callable | None = None,
    cancel=None,
    timeout: float = 20.0,
    attempts: int = 3,
    what: str | None = None,
    advice: str = "",
) -> Path:
    """Download the first mirror that works to `dest`, verified, atomically.

    urls: mirrors, tried in order. verify(path) raises DatasetError for a bad file.
    progress(done_bytes, total_bytes or None, label) is called as data arrives; cancel is a
    threading.Event or a callable returning True to stop. A broken connection is resumed from
    the `.part` file up to `attempts` times per mirror. `what` and `advice` go into the
    messages ("Could not download MNIST: ...").
    """
    import urllib.error
    import urllib.parse

    urls = list(urls)
    if not urls:
        raise DownloadError(f"Could not download {what or Path(dest).name}: no mirror given.")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    what = what or dest.name
    failures, unreachable = [], 0
    for url in urls:
        label = f"{dest.name} from {urllib.parse.urlsplit(url).netloc or url}"
        for attempt in range(1, attempts + 1):
            try:
                _fetch(url, part, label, progress, cancel, timeout)
            except _Unreachable as error:
                failures.append(f"{url}: could not connect ({error})")
                unreachable += 1
                break
            except urllib.error.HTTPError as error:
                error.close()
                failures.append(f"{url}: HTTP {error.code} {error.reason}")
                break
            except _Interrupted as error:
                if attempt == attempts:
                    failures.append(f"{url}: {error} ({attempts} tries)")
                continue  # resume from the .part file
            try:
                if verify is not None:
                    verify(part)
            except DatasetError as error:
                part.unlink(missing_ok=True)  # never resume from a bad file
                failures.append(f"{url}: {error}")
                break
            os.replace(part, dest)
            return dest
    if unreachable == len(urls):
        raise NoNetworkError(
            f"Could not download {what}: no network connection (tried "
            f"{len(urls)} mirror{'s' if len(urls) != 1 else ''}). {advice}".strip()
        )
    raise DownloadError(
        f"Could not download {what}; every mirror failed:\n  "
        + "\n  ".join(failures)
        + (f"\n{advice}" if advice else "")
    )


def _gunzipped_chunks(path: Path):
    """The file's data in chunks, uncompressed when it is gzip."""
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    try:
        with opener(path, "rb") as file:
            while chunk := file.read(1 << 20):
                yield chunk
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path.name} is a damaged gzip file ({error}).") from None


def sha256_of_data(path) -> str:
    """SHA-256 of a file's uncompressed data (gzip files are hashed after decompressing)."""
    digest = hashlib.sha256()
    for chunk in _gunzipped_chunks(Path(path)):
        digest.update(chunk)
    return digest.hexdigest()


def gunzipped_sha256(expected: str) -> Callable[[Path], None]:
    """A verifier for `download_file`: the uncompressed data must have this SHA-256.

    The hash of the uncompressed data is compared because the same data is served gzipped
    with different headers (timestamps) by different mirrors.
    """

    def verify(path: Path) -> None:
        actual = sha256_of_data(path)
        if actual != expected:
            raise DatasetError(
                f"its data has SHA-256 {actual[:12]}…, expected "
                f"{expected[:12]}… (a damaged or different file)"
            )

    return verify


class TerminalProgress:
    """A progress callback that draws a text bar on a terminal (the CLI's download bar).

    >>> bar = TerminalProgress(width=10)
    >>> bar(50, 100, "f.gz")  # stderr shows "  f.gz [#####     ]  50% 50 bytes / 100 bytes"
    """

    def __init__(self, stream=None, width: int = 30, interval: float = 0.1):
        self.stream = stream or sys.stderr
        self.width, self.interval = width, interval
        self._last = 0.0

    def __call__(self, done: int, total: int | None, label: str) -> None:
        finished = total is not None and done >= total
        now = time.monotonic()
        if not finished and now - self._last < self.interval:
            return
        self._last = now
        if total:
            filled = int(self.width * min(done / total, 1.0))
            bar = "#" * filled + " " * (self.width - filled)
            text = (
                f"\r  {label} [{bar}] {100 * done / total:3.0f}% {format_size(done)} / "
                f"{format_size(total)}"
            )
        else:
            text = f"\r  {label} {format_size(done)}"
        self.stream.write(text + ("\n" if finished else ""))
        self.stream.flush()
