"""Download: sources in order, checksums, retries, deadline, size cap, URLs kept whole and redacted.

HTTP cases run against a small server on 127.0.0.1 started per test; nothing leaves the machine.
"""

import base64
import gzip
import hashlib
import http.server
import logging
import shutil
import struct
import threading
import time

import numpy as np
import pytest

from mlpcompare import data
from mlpcompare.data import fetch

PASSWORD, TOKEN = "hunter2-pw", "s3cr3t-token-value"


def idx_bytes(array: np.ndarray) -> bytes:
    """A gzipped IDX file of unsigned bytes, as the official sets publish them."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


FILES = {
    "train-images-idx3-ubyte.gz": idx_bytes(np.arange(4 * 28 * 28).reshape(4, 28, 28) % 256),
    "train-labels-idx1-ubyte.gz": idx_bytes(np.array([0, 1, 2, 3])),
    "t10k-images-idx3-ubyte.gz": idx_bytes(np.full((2, 28, 28), 7)),
    "t10k-labels-idx1-ubyte.gz": idx_bytes(np.array([4, 5])),
}
FIRST = "train-images-idx3-ubyte.gz"


def sha256(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


class Server(http.server.ThreadingHTTPServer):
    """Serves ``routes`` (URL path -> list of behaviours, one per request; the last repeats) and
    records every request's path with its query string and its Authorization header."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, list] = {}
        self.requests: list[tuple[str, str | None]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p.partition("?")[0] == path)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Authorization")))
        plan = server.routes.get(self.path.partition("?")[0], [404])
        behaviour = plan[min(server.hits(self.path.partition("?")[0]) - 1, len(plan) - 1)]
        try:
            if isinstance(behaviour, int):
                self.send_error(behaviour)
            else:
                behaviour(self)
        except OSError:  # the client gave up (deadline, cap): nothing more to say
            pass

    def log_message(self, *args):  # keep the test output quiet
        pass


def body(raw: bytes, length: bool = True):
    """Serve ``raw``; without ``length`` the body ends when the connection closes."""

    def serve(handler):
        handler.send_response(200)
        if length:
            handler.send_header("Content-Length", str(len(raw)))
        else:
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(raw)

    return serve


def trickle(raw: bytes, every_s: float = 0.05):
    """Serve ``raw`` one byte at a time: the connection never idles long enough to time out."""

    def serve(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        for i in range(len(raw)):
            handler.wfile.write(raw[i : i + 1])
            handler.wfile.flush()
            time.sleep(every_s)

    return serve


def hang(seconds: float):
    def serve(handler):
        time.sleep(seconds)
        body(FILES[FIRST])(handler)

    return serve


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy configured for the machine is no use here
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    srv = Server()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def tiny(monkeypatch, server):
    """'mnist' made of the small FILES, its official URL on the loopback server."""
    monkeypatch.setitem(
        data.REMOTE,
        "mnist",
        data.RemoteDataset(
            urls=(f"{server.base}/official/",),
            hashes={name: sha256(raw) for name, raw in FILES.items()},
            classes=data.REMOTE["mnist"].classes,
        ),
    )
    for name, raw in FILES.items():
        server.routes[f"/official/{name}"] = [body(raw)]
    return server


def serve_mirror(server, prefix: str, first=None):
    """A mirror under ``prefix`` holding FILES; ``first`` replaces how FIRST is served."""
    for name, raw in FILES.items():
        server.routes[f"{prefix}/mnist/{name}"] = [body(raw)]
    if first is not None:
        server.routes[f"{prefix}/mnist/{FIRST}"] = first


def no_temp_files(folder):
    return not folder.exists() or not [p for p in folder.iterdir() if p.name.startswith(".")]


# --- local sources (moved from test_data.py) ---------------------------------------------------


def test_download_from_local_mirror_verifies_sha256(tmp_path, mirror):
    paths = fetch.download("mnist", tmp_path / "res", mirror=str(mirror))
    assert [p.name for p in paths] == list(data.IDX_FILES)
    for p in paths:
        assert p.read_bytes() == (mirror / "mnist" / p.name).read_bytes()
    assert not list((tmp_path / "res").glob(".*tmp*"))  # no temp files left behind


def test_checksum_mismatch_names_file_expected_and_actual_and_leaves_nothing(tmp_path, mirror):
    bad = tmp_path / "mirror" / "mnist"
    shutil.copytree(mirror / "mnist", bad)
    target = bad / "train-labels-idx1-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    actual = fetch.file_hash(target, "sha256")
    dest = tmp_path / "res"
    with pytest.raises(data.DataError) as err:
        fetch.download("mnist", dest, mirror=str(tmp_path / "mirror"))
    message = str(err.value)
    assert "train-labels-idx1-ubyte.gz" in message
    assert "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c" in message
    assert actual in message
    assert not (dest / "train-labels-idx1-ubyte.gz").exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]


def test_existing_good_file_is_kept_and_corrupt_one_refetched(tmp_path, mirror):
    dest = tmp_path / "res"
    fetch.download("mnist", dest, mirror=str(mirror))
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(b"junk")
    fetch.download("mnist", dest, mirror=str(mirror))
    assert (dest / "t10k-labels-idx1-ubyte.gz").read_bytes() == (
        mirror / "mnist" / "t10k-labels-idx1-ubyte.gz"
    ).read_bytes()


def test_missing_mirror_folder_is_a_clear_error(tmp_path):
    with pytest.raises(data.DataError, match="mirror folder not found: .*nowhere"):
        fetch.download("mnist", tmp_path, mirror=str(tmp_path / "nowhere"))


def test_every_remote_dataset_pins_a_hash_for_each_file():
    for name, remote in data.REMOTE.items():
        assert set(remote.hashes) == set(data.IDX_FILES), name
        assert all(h.split(":")[0] in ("sha256", "md5") for h in remote.hashes.values())
        assert len(remote.classes) == 10


# --- HTTP ----------------------------------------------------------------------------------------


def test_official_url_download_round_trips_through_read_idx(tmp_path, tiny):
    dest = tmp_path / "res"
    paths = fetch.download("mnist", dest)
    assert [p.read_bytes() for p in paths] == list(FILES.values())
    assert data.load_idx_dataset(dest)["y_train"].tolist() == [0, 1, 2, 3]
    before = len(tiny.requests)
    fetch.download("mnist", dest)  # all four present and verified: nothing fetched again
    assert len(tiny.requests) == before
    assert no_temp_files(dest)


def test_unreachable_sources_are_retried_then_reported_and_leave_nothing(tmp_path, monkeypatch):
    # Port 9 (discard) on loopback refuses connections: an offline machine in miniature.
    monkeypatch.setitem(
        data.REMOTE, "kmnist", data.RemoteDataset(
            urls=("http://127.0.0.1:9/kmnist/",),
            hashes=data.REMOTE["kmnist"].hashes,
            classes=data.REMOTE["kmnist"].classes,
        )
    )  # fmt: skip
    waits = []
    with pytest.raises(
        data.DataError,
        match=r"kmnist/train-images-idx3-ubyte.gz: no source worked \(could not download http://127.0.0.1:9/mirror/kmnist/",
    ) as err:
        fetch.download(
            "kmnist", tmp_path / "res", mirror="http://127.0.0.1:9/mirror", sleep=waits.append
        )
    assert waits == [1.0, 2.0, 4.0] * 2  # refused is transient: backoff on each of the two sources
    assert str(err.value).count("gave up after 4 attempts") == 2
    assert not (tmp_path / "res" / "train-images-idx3-ubyte.gz").exists()


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_http_errors_are_retried_with_exponential_backoff(tmp_path, tiny, status):
    tiny.routes[f"/official/{FIRST}"] = [status, status, body(FILES[FIRST])]
    waits = []
    fetch.download("mnist", tmp_path / "res", sleep=waits.append)
    assert tiny.hits(f"/official/{FIRST}") == 3
    assert waits == [1.0, 2.0]
    assert (tmp_path / "res" / FIRST).read_bytes() == FILES[FIRST]


def test_retries_stop_after_the_last_delay(tmp_path, tiny):
    tiny.routes[f"/official/{FIRST}"] = [502]
    waits = []
    limits = fetch.DownloadLimits(retry_delays_s=(0.5, 1.5))
    with pytest.raises(data.DataError, match=r"HTTP 502 .*gave up after 3 attempts"):
        fetch.download("mnist", tmp_path / "res", limits=limits, sleep=waits.append)
    assert waits == [0.5, 1.5] and tiny.hits(f"/official/{FIRST}") == 3


def test_a_read_timeout_is_retried(tmp_path, tiny):
    tiny.routes[f"/official/{FIRST}"] = [hang(1.0), body(FILES[FIRST])]
    waits = []
    limits = fetch.DownloadLimits(timeout_s=0.2)
    fetch.download("mnist", tmp_path / "res", limits=limits, sleep=waits.append)
    assert waits == [1.0] and tiny.hits(f"/official/{FIRST}") == 2


@pytest.mark.parametrize("status", [404, 403])
def test_not_found_is_not_retried_and_falls_through_to_the_official_url(tmp_path, tiny, status):
    tiny.routes[f"/mirror/mnist/{FIRST}"] = [status]
    waits = []
    fetch.download("mnist", tmp_path / "res", mirror=f"{tiny.base}/mirror/", sleep=waits.append)
    assert waits == []
    assert tiny.hits(f"/mirror/mnist/{FIRST}") == 1
    assert tiny.hits(f"/official/{FIRST}") == 1
    assert (tmp_path / "res" / FIRST).read_bytes() == FILES[FIRST]


def test_checksum_mismatch_over_http_is_final_and_not_retried(tmp_path, tiny):
    wrong = FILES[FIRST][:-1] + bytes([FILES[FIRST][-1] ^ 0xFF])
    serve_mirror(tiny, "/mirror", first=[body(wrong)])
    waits = []
    dest = tmp_path / "res"
    with pytest.raises(data.DataError) as err:
        fetch.download("mnist", dest, mirror=f"{tiny.base}/mirror", sleep=waits.append)
    message = str(err.value)
    assert f"checksum mismatch for {tiny.base}/mirror/mnist/{FIRST}" in message
    assert sha256(FILES[FIRST]).split(":")[1] in message
    assert hashlib.sha256(wrong).hexdigest() in message
    assert waits == [] and tiny.hits(f"/official/{FIRST}") == 0  # no retry, no fall-through
    assert not (dest / FIRST).exists() and no_temp_files(dest)


def test_a_trickling_download_stops_at_the_deadline(tmp_path, tiny):
    serve_mirror(tiny, "/slow", first=[trickle(b"x" * 1000)])  # 50 s at this pace
    dest = tmp_path / "res"
    limits = fetch.DownloadLimits(deadline_s=0.5, timeout_s=5.0)
    started = time.monotonic()
    fetch.download("mnist", dest, mirror=f"{tiny.base}/slow", limits=limits, sleep=lambda s: None)
    assert time.monotonic() - started < 5.0
    assert tiny.hits(f"/official/{FIRST}") == 1  # the slow mirror fell through
    assert (dest / FIRST).read_bytes() == FILES[FIRST]
    assert no_temp_files(dest)


def test_the_deadline_message_names_url_and_deadline(tmp_path, tiny):
    tiny.routes[f"/official/{FIRST}"] = [trickle(b"x" * 1000)]
    dest = tmp_path / "res"
    limits = fetch.DownloadLimits(deadline_s=0.3, timeout_s=5.0)
    with pytest.raises(data.DataError) as err:
        fetch.download("mnist", dest, limits=limits, sleep=lambda s: None)
    message = str(err.value)
    assert "\n" not in message
    assert (
        f"could not download {tiny.base}/official/{FIRST}: not complete within the 0.3 s deadline"
        in message
    )
    assert not (dest / FIRST).exists() and no_temp_files(dest)


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "until-close"])
def test_an_oversized_body_is_stopped_at_the_cap_and_removed(tmp_path, tiny, length):
    cap = 64 * 1024
    tiny.routes[f"/official/{FIRST}"] = [body(b"\0" * (4 * cap), length=length)]
    dest = tmp_path / "res"
    waits = []
    with pytest.raises(data.DataError, match=f"cap of {cap:,} bytes") as err:
        fetch.download(
            "mnist", dest, limits=fetch.DownloadLimits(max_bytes=cap), sleep=waits.append
        )
    # Refused from its Content-Length before reading, else stopped while reading; either way
    # by the cap, not by the checksum afterwards.
    expected = f"is {4 * cap:,} bytes, over the cap" if length else "stopped past the cap"
    assert expected in str(err.value) and "checksum" not in str(err.value)
    assert waits == []  # a wrong file is not worth asking for again
    assert not (dest / FIRST).exists() and no_temp_files(dest)


def test_a_body_cut_short_is_retried(tmp_path, tiny):
    def short(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(FILES[FIRST])))
        handler.end_headers()
        handler.wfile.write(FILES[FIRST][:10])
        handler.close_connection = True

    tiny.routes[f"/official/{FIRST}"] = [short, body(FILES[FIRST])]
    waits = []
    fetch.download("mnist", tmp_path / "res", sleep=waits.append)
    assert waits == [1.0]
    assert (tmp_path / "res" / FIRST).read_bytes() == FILES[FIRST]


@pytest.mark.parametrize(
    ("mirror", "query"),
    [
        ("/bucket?token=abc", "token=abc"),
        (
            "/bucket/?X-Amz-Signature=ab%2Fc&X-Amz-Expires=60",
            "X-Amz-Signature=ab%2Fc&X-Amz-Expires=60",
        ),
        ("/bucket", ""),
        ("/bucket#part", ""),
    ],
)
def test_a_mirror_url_keeps_its_query_string(tmp_path, tiny, mirror, query):
    serve_mirror(tiny, "/bucket")
    fetch.download("mnist", tmp_path / "res", mirror=tiny.base + mirror)
    asked = sorted(path for path, _ in tiny.requests)
    assert asked == sorted(f"/bucket/mnist/{n}" + (f"?{query}" if query else "") for n in FILES)


def test_credentials_reach_the_server_but_never_a_log_or_a_message(tmp_path, tiny, caplog):
    caplog.set_level(logging.DEBUG)
    mirror = f"http://reader:{PASSWORD}@{tiny.base[7:]}/private/?token={TOKEN}"
    serve_mirror(tiny, "/private", first=[503, 404])  # a warning, a retry, then a fall-through
    fetch.download("mnist", tmp_path / "res", mirror=mirror, sleep=lambda s: None)
    sent = {auth for path, auth in tiny.requests if path.startswith("/private/")}
    assert sent == {"Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()}
    assert all(
        path.endswith(f"?token={TOKEN}")
        for path, _ in tiny.requests
        if path.startswith("/private/")
    )
    assert any("***@" in r.getMessage() and "token=***" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert PASSWORD not in record.getMessage() and TOKEN not in record.getMessage()

    caplog.clear()
    tiny.routes[f"/official/{FIRST}"] = [500]  # now every source fails
    with pytest.raises(data.DataError) as err:
        fetch.download("mnist", tmp_path / "other", mirror=mirror, sleep=lambda s: None)
    assert "http://***@127.0.0.1" in str(err.value) and "token=***" in str(err.value)
    for text in [str(err.value), *(r.getMessage() for r in caplog.records)]:
        assert PASSWORD not in text and TOKEN not in text and "reader" not in text


def test_redact_masks_user_info_and_parameter_values_and_keeps_paths():
    assert (
        fetch.redact(f"https://reader:{PASSWORD}@host:8443/a/b.gz?token={TOKEN}&v=1#sig=abc")
        == "https://***@host:8443/a/b.gz?token=***&v=***#sig=***"
    )
    assert fetch.redact(f"https://host/x?{TOKEN}") == "https://host/x?***"
    assert fetch.redact("http://yann.lecun.com/exdb/mnist/") == "http://yann.lecun.com/exdb/mnist/"
    for path in ["/data/mirror", "../shared/datasets", "relative/f?x=1", r"C:\data\mnist", ""]:
        assert fetch.redact(path) == path


def test_progress_is_logged_for_a_large_file(tmp_path, tiny, caplog, monkeypatch):
    large = bytes(range(256)) * (5 * 2**12)  # 5 MiB: one line per 10 %
    monkeypatch.setitem(data.REMOTE["mnist"].hashes, FIRST, sha256(large))
    tiny.routes[f"/official/{FIRST}"] = [body(large)]
    caplog.set_level(logging.INFO, logger="mlpcompare.data.fetch")
    fetch.download("mnist", tmp_path / "res")
    lines = [r.getMessage() for r in caplog.records if f"{FIRST}: " in r.getMessage()]
    percents = [int(line.rpartition("(")[2].split()[0]) for line in lines if " %)" in line]
    assert len(percents) >= 5 and percents == sorted(percents) and percents[-1] == 100
    assert f"{len(large):,} bytes" in lines[-1]
