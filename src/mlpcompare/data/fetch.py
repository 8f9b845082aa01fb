"""Fetching the downloaded datasets: checksummed, from a mirror or the official URLs.

Every file has a deadline (not only each socket read), transient failures are retried with
backoff, a size cap keeps a wrong URL from filling the disk, a mirror URL keeps its query string,
and no credential in a URL reaches a log line or a message (:mod:`.urls`). Everything is
written through :func:`mlpcompare.io.atomic_path`, so nothing half-written remains.
"""

from __future__ import annotations

import base64
import http.client
import logging
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pooch

from mlpcompare.data import IDX_FILES, REMOTE, DataError
from mlpcompare.data.urls import join_url, redact, scrub
from mlpcompare.io import atomic_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadLimits:
    """How long and how much fetching one file from one source may take.

    ``deadline_s`` bounds the whole fetch of a file from a source, retries and their waits
    included, so a server that trickles bytes forever is given up on; ``timeout_s`` bounds the
    connection and each read. ``max_bytes`` sits well above the largest MNIST-family file
    (Fashion-MNIST's training images, 26 MB), so a wrong URL serving a huge file cannot fill the
    disk. A transient failure (connection refused or reset, a timeout, HTTP 429 or 5xx) is
    retried after each of ``retry_delays_s`` in turn; anything else is not.
    """

    timeout_s: float = 60.0
    deadline_s: float = 600.0
    max_bytes: int = 64 * 2**20
    retry_delays_s: tuple[float, ...] = (1.0, 2.0, 4.0)


DEFAULT_LIMITS = DownloadLimits()
PROGRESS_EVERY_S = 5.0  # a progress line at least this often, besides one per 10 % of a large file
_PROGRESS_MIN_BYTES = 2**20  # smaller files get no per-10 % lines: they take a moment
_CHUNK = 2**16
_USER_AGENT = "mlpcompare (python-urllib)"
Sleep = Callable[[float], object]


class _SourceFailed(DataError):
    """This source cannot provide the file (unreachable, HTTP error, too slow, too large): the
    next source is tried. ``transient`` failures are worth retrying on the same source."""

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


def file_hash(path: str | Path, algorithm: str) -> str:
    return pooch.file_hash(str(path), alg=algorithm)


def verify(path: Path, expected: str, label: str) -> None:
    """Raise :class:`DataError` naming the file, the expected and the actual hash on mismatch."""
    algorithm, _, digest = expected.partition(":")
    actual = file_hash(path, algorithm)
    if actual != digest:
        raise DataError(
            f"checksum mismatch for {label}: expected {algorithm} {digest}, got {actual}"
        )


def _is_url(location: str) -> bool:
    return urllib.parse.urlparse(location).scheme in ("http", "https", "ftp")


def _request(url: str) -> urllib.request.Request:
    """A GET for ``url``; HTTP user info becomes a Basic ``Authorization`` header, which
    urllib does not carry over a redirect (to another host)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "ftp" or "@" not in parts.netloc:  # urllib's FTP reads user info itself
        return urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    plain = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    request = urllib.request.Request(plain, headers={"User-Agent": _USER_AGENT})
    userinfo = urllib.parse.unquote(parts.netloc.rpartition("@")[0])
    token = base64.b64encode(userinfo.encode()).decode("ascii")
    request.add_unredirected_header("Authorization", f"Basic {token}")
    return request


def _network_failure(url: str, exc: Exception) -> _SourceFailed:
    """``exc`` from urllib as a :class:`_SourceFailed` whose text holds no credential."""
    if isinstance(exc, urllib.error.HTTPError):
        exc.close()  # it holds the connection
        reason = f"HTTP {exc.code} {exc.reason}"
        transient = exc.code == 429 or exc.code >= 500
    else:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        reason = str(cause) or type(cause).__name__
        # Refused, reset, dropped mid-body or too slow to answer: often gone a moment later.
        transient = isinstance(cause, ConnectionError | TimeoutError | http.client.IncompleteRead)
    return _SourceFailed(f"could not download {redact(url)}: {scrub(reason, url)}", transient)


def _transfer(url: str, tmp: Path, give_up_at: float, limits: DownloadLimits) -> None:
    """One attempt to write ``url``'s body to ``tmp``, stopped at ``give_up_at`` (monotonic
    seconds) or past ``limits.max_bytes``."""
    started = time.monotonic()
    shown = redact(url)
    timeout = max(0.001, min(limits.timeout_s, give_up_at - started))
    try:
        response = urllib.request.urlopen(_request(url), timeout=timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError is an OSError
        raise _network_failure(url, exc) from None
    with response, open(tmp, "wb") as fh:
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        if total is not None and total > limits.max_bytes:
            raise _SourceFailed(
                f"could not download {shown}: it is {total:,} bytes, over the cap of "
                f"{limits.max_bytes:,} bytes"
            )
        size, step, last_line = 0, 0, started
        while True:
            try:
                chunk = response.read1(_CHUNK)  # returns what has arrived, so the clock is checked
            except (OSError, ValueError, http.client.HTTPException) as exc:
                raise _network_failure(url, exc) from None
            if not chunk:
                break
            size += len(chunk)
            if size > limits.max_bytes:
                raise _SourceFailed(
                    f"could not download {shown}: stopped past the cap of {limits.max_bytes:,} "
                    "bytes (the server sent more)"
                )
            fh.write(chunk)
            now = time.monotonic()
            if now > give_up_at:
                raise _SourceFailed(
                    f"could not download {shown}: not complete within the "
                    f"{limits.deadline_s:g} s deadline ({size:,} bytes so far)"
                )
            new_step = 10 * size // total if total else 0
            if (
                total and total >= _PROGRESS_MIN_BYTES and new_step > step
            ) or now - last_line >= PROGRESS_EVERY_S:
                of = f" of {total:,} ({100 * size // total} %)" if total else ""
                log.info("%s: %s bytes%s", shown, f"{size:,}", of)
                step, last_line = new_step, now
    if total is not None and size < total:
        raise _SourceFailed(
            f"could not download {shown}: connection closed after {size:,} of {total:,} bytes",
            transient=True,
        )
    log.info("fetched %s: %s bytes in %.1f s", shown, f"{size:,}", time.monotonic() - started)


def _download(url: str, tmp: Path, limits: DownloadLimits, sleep: Sleep) -> None:
    """:func:`_transfer` with retries of transient failures, all within ``limits.deadline_s``."""
    give_up_at = time.monotonic() + limits.deadline_s
    for attempt, delay in enumerate((*limits.retry_delays_s, None), start=1):
        try:
            _transfer(url, tmp, give_up_at, limits)
            return
        except _SourceFailed as exc:
            if not exc.transient:
                raise
            if delay is None or time.monotonic() + delay >= give_up_at:
                raise _SourceFailed(f"{exc} (gave up after {attempt} attempts)") from None
            log.warning("%s; retrying in %g s (attempt %d failed)", exc, delay, attempt)
            sleep(delay)


def _fetch_one(
    source: str, expected: str, dest: Path, limits: DownloadLimits, sleep: Sleep
) -> None:
    """Copy (local) or download (URL) ``source`` to ``dest`` atomically, verifying its hash first."""
    with atomic_path(dest) as tmp:
        if _is_url(source):
            _download(source, tmp, limits, sleep)
        else:
            if not Path(source).is_file():
                raise _SourceFailed(f"not found: {source}")
            shutil.copyfile(source, tmp)
        verify(tmp, expected, redact(source))


def _sources(dataset: str, name: str, mirror: str | None) -> list[str]:
    """Where to look for file ``name`` of ``dataset``, in order: the mirror, the official URLs."""
    official = [join_url(url, name) for url in REMOTE[dataset].urls]
    if not mirror:
        return official
    if _is_url(mirror):
        return [join_url(mirror, dataset, name), *official]
    return [str(Path(mirror, dataset, name)), *official]


def download(
    dataset: str,
    dest_dir: str | Path,
    mirror: str | None = None,
    *,
    limits: DownloadLimits = DEFAULT_LIMITS,
    sleep: Sleep = time.sleep,
) -> list[Path]:
    """Fetch the four IDX files of ``dataset`` into ``dest_dir``; return their paths.

    Sources are tried in order: ``mirror`` (a local folder or base URL laid out as
    ``{mirror}/{dataset}/{file}``; a URL's query string, such as a token, is kept), then the
    official URLs. A file already present with the right checksum is kept. A checksum mismatch
    from any source is an error (never silently skipped); a source that is unreachable, answers
    with an HTTP error, misses ``limits``' deadline or exceeds its size cap falls through to the
    next one. ``sleep`` waits between retries (tests pass a stub). Logs and errors show URLs
    through :func:`redact`.
    """
    remote = REMOTE[dataset]
    dest_dir = Path(dest_dir)
    if mirror and not _is_url(mirror):
        mirror = str(Path(mirror).expanduser())
        if not Path(mirror).is_dir():
            raise DataError(f"mirror folder not found: {mirror}")
    paths = []
    for name in IDX_FILES:
        dest = dest_dir / name
        expected = remote.hashes[name]
        if dest.is_file():
            try:
                verify(dest, expected, str(dest))
                paths.append(dest)
                continue
            except DataError:
                log.warning("%s exists but its checksum is wrong; fetching it again", dest)
        failures = []
        for source in _sources(dataset, name, mirror):
            log.info("fetching %s", redact(source))
            try:
                _fetch_one(source, expected, dest, limits, sleep)
                break
            except _SourceFailed as exc:
                log.warning("%s", exc)
                failures.append(str(exc))
        else:
            raise DataError(f"{dataset}/{name}: no source worked ({'; '.join(failures)})")
        paths.append(dest)
    return paths
