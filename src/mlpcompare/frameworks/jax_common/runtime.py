"""Where a framework on JAX runs: CPU threads (XLA's pools) and the device."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import platform
import tempfile

import jax

DEVICES = ("auto", "cpu", "cuda")

# What the persistent compilation cache did in this process (jax.monitoring's events), for the
# run's record: a first epoch that loaded its executables is not one that compiled them.
CACHE_EVENTS = {
    "/jax/compilation_cache/cache_hits": "hits",
    "/jax/compilation_cache/cache_misses": "misses",
}
cache_counts = {"hits": 0, "misses": 0}


def default_cache_dir() -> str:
    """A cache folder per user and per CPU kind under the temporary directory (as PyTorch's
    inductor cache, :func:`mlpcompare.frameworks.torch.compiled.use_compile_cache`): XLA compiles CPU code for the host's instruction set, so a folder
    on a filesystem that several kinds of machine share must not mix them."""
    flags = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        flags = next((line for line in cpuinfo if line.startswith("flags")), "")
    kind = hashlib.sha256(f"{platform.machine()} {flags}".encode()).hexdigest()[:8]
    return os.path.join(tempfile.gettempdir(), f"mlpcompare-jax-{getpass.getuser()}-{kind}")


def _count_cache_event(event: str, **_) -> None:
    if event in CACHE_EVENTS:
        cache_counts[CACHE_EVENTS[event]] += 1


def use_compilation_cache() -> None:
    """Keep compiled executables on disk, so a process that compiles what an earlier one did
    (the next seed, the evaluation, a rerun) loads them: XLA's compiling is most of a small
    job's seconds (a JAX training job on digits: 34 programs, ~7 s of its ~12). JAX's own variables win where set
    (``JAX_COMPILATION_CACHE_DIR``, ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``). Every
    executable is kept, not only those that took a second to compile: most of Keras' are small
    and loading one is quicker than compiling it."""
    if not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", default_cache_dir())
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.monitoring.register_event_listener(_count_cache_event)


use_compilation_cache()


def compile_afresh() -> None:
    """Leave the persistent cache out of this process: what the idiomatic variants call first.
    Their first epoch is what a new user waits for (devexp's time to first result, compiling
    included), which a program left on disk by an earlier run must not shorten; nor do the
    JAX and Keras guides that these variants follow turn the cache on. JAX decides once per
    process, at its first compile, so this must come before any."""
    jax.config.update("jax_enable_compilation_cache", False)


def configure_threads(n: int) -> None:
    """Let this process run on ``n`` CPUs: the only thread setting XLA's CPU backend obeys.

    XLA has no thread-count option (``--xla_cpu_multi_thread_eigen=false`` and the old
    ``intra_op_parallelism_threads`` no longer limit it: a 2048x2048 product still kept four
    threads busy here). Its CPU client sizes its thread pools by the CPUs the process may run on
    (``sched_getaffinity``) when the backend starts, so the CPU affinity is narrowed to ``n`` of
    the allowed CPUs, for every thread of the process (threads made later inherit it). Called
    before the first array, the pools get ``n`` threads; called later, the existing threads still
    share those ``n`` CPUs. Under SLURM the job's cgroup usually allows exactly ``n`` CPUs already
    and nothing changes. Each framework's ``environment`` records the CPUs in effect.
    """
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    if not hasattr(os, "sched_setaffinity"):  # not Linux: XLA uses every CPU
        return
    allowed = sorted(os.sched_getaffinity(0))
    if n >= len(allowed):
        return
    cpus = set(allowed[:n])
    for thread_id in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # the thread ended since the listing
            os.sched_setaffinity(int(thread_id), cpus)


def cuda_devices() -> list[jax.Device]:
    try:
        return jax.devices("cuda")
    except RuntimeError:  # no CUDA backend in this jaxlib, or it failed to start
        return []


def resolve_device(requested: str) -> str:
    """``"auto"`` -> ``"cuda"`` if JAX has a CUDA device, else ``"cpu"``; checks ``"cuda"``."""
    if requested not in DEVICES:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    has_cuda = bool(cuda_devices())
    if requested == "cuda" and not has_cuda:
        raise RuntimeError(
            f"device 'cuda' was requested but JAX finds no CUDA device (jax {jax.__version__}, "
            f"backend {jax.default_backend()!r}; a GPU site installs jax[cuda12]); "
            f"use 'auto' or 'cpu'"
        )
    if requested == "auto":
        return "cuda" if has_cuda else "cpu"
    return requested


def jax_device(name: str) -> jax.Device:
    return cuda_devices()[0] if name == "cuda" else jax.devices("cpu")[0]


def devices_and_threads() -> dict:
    """The devices JAX sees, the one a run uses, the CPUs it may use and XLA's flags, for the
    run's record (``environment``)."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "devices": [f"{d.platform}:{d.id} {d.device_kind}" for d in jax.devices()],
        "device": jax.devices()[0].device_kind if cuda_devices() else "cpu",
        "threads": len(affinity) if affinity is not None else os.cpu_count(),
        "cpu_affinity": affinity,
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "compilation_cache": {"dir": jax.config.jax_compilation_cache_dir, **cache_counts},
    }
