"""Downloads against a local HTTP server on 127.0.0.1: mirrors, resume, restart, verification,
cancel, no network. Nothing here touches the internet."""

import gzip
import hashlib
import http.server
import io
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from nnstudio.data import catalog
from nnstudio.data.download import (
    DownloadCancelled,
    DownloadError,
    NoNetworkError,
    TerminalProgress,
    download_file,
    gunzipped_sha256,
)
from nnstudio.data.idx import write_idx

NO_NETWORK_MESSAGE = (
    "Could not download MNIST: no network connection (tried 2 mirrors). Download the four "
    "files yourself and choose their folder, or set NNSTUDIO_MNIST_DIR."
)


def _idx_gz(tmp_path: Path, array: np.ndarray) -> bytes:
    path = tmp_path / "tmp-idx.gz"
    write_idx(path, array)
    data = path.read_bytes()
    path.unlink()
    return data


class Server:
    """Serves `files` (URL path -> bytes) with Range support, plus misbehaving routes:
    /norange/... ignores Range, /drop/... closes the connection half-way through its first
    answer (or every answer when `always_drop`), anything unknown is 404."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.always_drop = False
        self.dropped = set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                outer.requests.append((self.path, self.headers.get("Range")))
                route, _, name = self.path.lstrip("/").partition("/")
                data = outer.files.get(name)
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                ranged = self.headers.get("Range")
                if ranged and route != "norange":
                    start = int(ranged.split("=")[1].rstrip("-"))
                if route == "drop" and (outer.always_drop or name not in outer.dropped):
                    outer.dropped.add(name)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if start >= len(data) > 0:
                    self.send_error(416, "Range Not Satisfiable")
                    return
                if start:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def payload(tmp_path):
    """(gzip bytes of a small IDX file, SHA-256 of its uncompressed data)."""
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    data = _idx_gz(tmp_path, array)
    return data, hashlib.sha256(gzip.decompress(data)).hexdigest()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused, like being offline."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_download_verifies_reports_progress_and_renames(server, payload, tmp_path):
    data, digest = payload
    server.files["f.gz"] = data
    calls = []
    dest = download_file(
        [f"{server.url}/good/f.gz"],
        tmp_path / "out" / "f.gz",
        verify=gunzipped_sha256(digest),
        progress=lambda done, total, label: calls.append((done, total, label)),
    )
    assert dest.read_bytes() == data
    assert not (tmp_path / "out" / "f.gz.part").exists()
    assert calls[-1][:2] == (len(data), len(data))
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert "f.gz from 127.0.0.1" in calls[0][2]


def test_missing_on_first_mirror_uses_the_second(server, payload, tmp_path):
    data, digest = payload
    server.files["f.gz"] = data
    dest = download_file(
        [f"{server.url}/gone/nothing.gz", f"{server.url}/good/f.gz"],
        tmp_path / "f.gz",
        verify=gunzipped_sha256(digest),
    )
    assert dest.read_bytes() == data
    assert [r[0] for r in server.requests] == ["/gone/nothing.gz", "/good/f.gz"]


def test_corrupt_file_is_deleted_and_the_next_mirror_tried(server, payload, tmp_path):
    data, digest = payload
    server.files["f.gz"] = data
    server.files["bad.gz"] = _idx_gz(tmp_path, np.zeros((50, 28, 28), np.uint8))
    dest = download_file(
        [f"{server.url}/good/bad.gz", f"{server.url}/good/f.gz"],
        tmp_path / "f.gz",
        verify=gunzipped_sha256(digest),
    )
    assert dest.read_bytes() == data


def test_corrupt_everywhere_fails_and_leaves_no_file(server, payload, tmp_path):
    _, digest = payload
    server.files["bad.gz"] = _idx_gz(tmp_path, np.zeros((50, 28, 28), np.uint8))
    server.files["truncated.gz"] = payload[0][:-100]
    with pytest.raises(DownloadError, match="SHA-256") as caught:
        download_file(
            [f"{server.url}/good/bad.gz", f"{server.url}/good/truncated.gz"],
            tmp_path / "f.gz",
            verify=gunzipped_sha256(digest),
            what="MNIST",
        )
    message = str(caught.value)
    assert message.startswith("Could not download MNIST; every mirror failed")
    assert "/good/bad.gz" in message and "damaged gzip" in message
    assert not (tmp_path / "f.gz").exists()
    assert not (tmp_path / "f.gz.part").exists()


def test_dropped_connection_resumes_with_a_range_request(server, payload, tmp_path):
    data, digest = payload
    server.files["f.gz"] = data
    dest = download_file(
        [f"{server.url}/drop/f.gz"], tmp_path / "f.gz", verify=gunzipped_sha256(digest)
    )
    assert dest.read_bytes() == data
    assert server.requests == [("/drop/f.gz", None), ("/drop/f.gz", f"bytes={len(data) // 2}-")]


def test_interrupted_download_resumes_in_a_later_call(server, payload, tmp_path):
    data, digest = payload
    server.files["f.gz"] = data
    server.always_drop = True
    with pytest.raises(DownloadError, match="connection"):
        download_file(
            [f"{server.url}/drop/f.gz"],
            tmp_path / "f.gz",
            verify=gunzipped_sha256(digest),
            attempts=1,
        )
    part = tmp_path / "f.gz.part"
    assert part.read_bytes() == data[: len(data) // 2]
    assert not (tmp_path / "f.gz").exists()
    download_file([f"{server.url}/good/f.gz"], tmp_path / "f.gz", verify=gunzipped_sha256(digest))
    assert (tmp_path / "f.gz").read_bytes() == data
    assert server.requests[-1] == ("/good/f.gz", f"bytes={len(data) // 2}-")
    assert not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, payload, tmp_path):
    data, digest = payload
    server.files["f.gz"] = data
    (tmp_path / "f.gz.part").write_bytes(b"\xff" * 100)  # left over, not even a prefix
    dest = download_file(
        [f"{server.url}/norange/f.gz"], tmp_path / "f.gz", verify=gunzipped_sha256(digest)
    )
    assert dest.read_bytes() == data
    assert server.requests == [("/norange/f.gz", "bytes=100-")]


def test_part_longer_than_the_file_restarts(server, payload, tmp_path):
    data, digest = payload
    server.files["f.gz"] = data
    (tmp_path / "f.gz.part").write_bytes(b"\0" * (len(data) + 10))
    dest = download_file(
        [f"{server.url}/good/f.gz"], tmp_path / "f.gz", verify=gunzipped_sha256(digest)
    )
    assert dest.read_bytes() == data
    assert server.requests == [("/good/f.gz", f"bytes={len(data) + 10}-"), ("/good/f.gz", None)]


def test_no_mirror_given(tmp_path):
    with pytest.raises(DownloadError, match="no mirror given"):
        download_file([], tmp_path / "f.gz")


def test_cancel_keeps_the_partial_file(server, tmp_path):
    server.files["big.bin"] = bytes(300_000)
    cancel = threading.Event()
    with pytest.raises(DownloadCancelled, match="cancelled"):
        download_file(
            [f"{server.url}/good/big.bin"],
            tmp_path / "big.bin",
            progress=lambda done, total, label: cancel.set(),
            cancel=cancel,
        )
    assert 0 < (tmp_path / "big.bin.part").stat().st_size < 300_000
    assert not (tmp_path / "big.bin").exists()


def test_no_network_says_so_and_what_to_do(tmp_path):
    with pytest.raises(NoNetworkError) as caught:
        catalog.download_mnist("mnist", tmp_path, mirrors=[closed_port_url(), closed_port_url()])
    assert str(caught.value) == NO_NETWORK_MESSAGE
    assert not list(tmp_path.iterdir())


def test_load_dataset_downloads_only_when_asked(monkeypatch, tmp_path):
    monkeypatch.delenv("NNSTUDIO_MNIST_DIR", raising=False)
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(
        catalog.MNIST_SOURCES["mnist"], "mirrors", [closed_port_url(), closed_port_url()]
    )
    with pytest.raises(catalog.DatasetNotFound) as caught:
        catalog.load_dataset("mnist")
    assert caught.value.can_download and caught.value.name == "mnist"
    with pytest.raises(NoNetworkError, match="no network connection"):
        catalog.load_dataset("mnist", download=True)


def test_fashion_mnist_download_is_checked_by_structure(server, tmp_path):
    labels = _idx_gz(tmp_path, np.zeros(5, np.uint8))  # 5 labels where 60,000 belong
    server.files["train-images-idx3-ubyte.gz"] = labels
    with pytest.raises(DownloadError, match=r"shape \(5,\), expected \(60000, 28, 28\)"):
        catalog.download_mnist("fashion-mnist", tmp_path, mirrors=[f"{server.url}/good/"])
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_download_mnist_from_a_mirror_and_load_it(server, mnist_path, tmp_path, monkeypatch):
    for path in Path(mnist_path).glob("*.gz"):
        server.files[path.name] = path.read_bytes()
    labels = []
    folder = catalog.download_mnist(
        "mnist",
        tmp_path / "mnist",
        mirrors=[closed_port_url(), f"{server.url}/good/"],
        progress=lambda done, total, label: labels.append(label),
    )
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        p.name for p in Path(mnist_path).glob("*.gz")
    )
    assert labels[0].startswith("MNIST file 1 of 4: train-images-idx3-ubyte.gz")
    assert labels[-1].startswith("MNIST file 4 of 4: t10k-labels-idx1-ubyte.gz")
    dataset = catalog.load_dataset(f"idx:{folder}", val_fraction=0)
    assert (len(dataset.x_train), len(dataset.x_test)) == (60000, 10000)
    # Found in the user's data folder next time, and not downloaded again.
    monkeypatch.delenv("NNSTUDIO_MNIST_DIR", raising=False)
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path))
    assert catalog.find_mnist("mnist") == tmp_path / "mnist"
    count = len(server.requests)
    catalog.download_mnist("mnist", tmp_path / "mnist", mirrors=[f"{server.url}/good/"])
    assert len(server.requests) == count


def test_terminal_progress_draws_a_bar():
    stream = io.StringIO()
    bar = TerminalProgress(stream=stream, width=10, interval=0)
    bar(50, 100, "f.gz")
    bar(100, 100, "f.gz")
    text = stream.getvalue()
    assert "f.gz [#####     ]  50%" in text
    assert text.endswith("[##########] 100% 100 bytes / 100 bytes\n")
