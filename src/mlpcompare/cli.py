"""The ``mlpcompare`` command (docs/command.md).

The workflow commands are thin calls of Snakemake's own command line, with the options the
Makefile passes, run in the checkout this package was installed from (``pip install -e .``):
Snakemake schedules, nothing here does. Options this command does not know go to Snakemake
as they are (``mlpcompare run -n``, ``mlpcompare run --configfile my.yaml``).

    mlpcompare run [SNAKEMAKE OPTION ...]        snakemake --cores 8                (make run)
    mlpcompare resume [...]                      unlock if safe, --rerun-incomplete (make resume)
    mlpcompare bench [--mirror DIR] [...]        the MNIST comparison, then its tables (make bench)
    mlpcompare study PRESET [...]                snakemake --cores 8 --configfile presets/PRESET.yaml
    mlpcompare report [...]                      snakemake --cores 8 results/report.html
    mlpcompare compare A B [--html PATH] [--fail-on-regression PCT]
    mlpcompare pack [RESULTS] [-o ARCHIVE] [--models]

Exit status: Snakemake's for the workflow commands; for compare 1 when ``--fail-on-regression``
finds a regression; 2 for input this command refuses (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mlpcompare import config_size, logs
from mlpcompare.layout import RESULTS

# What `make run` passes to Snakemake (Makefile); tests/test_cli.py keeps the two in step.
CORES = ("--cores", "8")
# make bench's mirror: the dataset folder beside the checkout, passed as the same relative path
# (a different spelling of the same folder would be a new `mirror` value: a config change).
MIRROR = "../shared/datasets"
REPORT = RESULTS.top("report.html")
BAD_INPUT = 2


def checkout() -> Path:
    """The workflow's checkout: the folder above src/ of this (editable) installation."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "Snakefile").is_file():
        raise logs.UserError(
            f"no workflow beside this installation of mlpcompare ({root} has no Snakefile): "
            "install it from a checkout with pip install -e ."
        )
    return root


def snakemake_executable() -> str:
    """The snakemake of this interpreter's environment (the venv's, as make uses)."""
    exe = Path(sys.executable).with_name("snakemake")
    if not exe.is_file():
        raise logs.UserError(f"snakemake is not installed beside {sys.executable}")
    return str(exe)


def snakemake_command(*args: str) -> list[str]:
    """Snakemake's command line with the project's options, then ``args``."""
    return [snakemake_executable(), *CORES, *args]


def config_files(command: list[str]) -> list[str]:
    """The files a command line passes with ``--configfile``/``--configfiles`` (one or more
    values each, or ``--configfile=PATH``)."""
    files, taking = [], False
    for arg in command:
        name, _, value = arg.partition("=")
        if name in ("--configfile", "--configfiles"):
            taking = not value
            files += [value] if value else []
        elif arg.startswith("-"):
            taking = False
        elif taking:
            files.append(arg)
    return files


def call(command: list[str], env: dict | None = None) -> int:
    """Run ``command`` in the checkout (``env``: its environment, default this one's); its exit
    status. Each config file it names is sized first: Snakemake's own reader stops with a
    traceback on one nested a few hundred levels deep, before the workflow can say anything."""
    root = checkout()
    for path in config_files(command):
        problem = config_size.file_problem(root / path)
        if problem:
            raise logs.UserError(f"config error: {problem}")
    return subprocess.run(command, cwd=root, env=env).returncode


# --- the workflow -----------------------------------------------------------------------------


def run(args, extra: list[str]) -> int:
    return call(snakemake_command(*extra))


def resume(args, extra: list[str]) -> int:
    """make resume's command: unlock only when no Snakemake process holds the checkout, then
    rerun with --rerun-incomplete (mlpcompare.resume); PYTHONPATH as the Makefile sets it."""
    env = {**os.environ, "PYTHONPATH": str(checkout() / "src")}
    return call([sys.executable, "-m", "mlpcompare.resume", *CORES, *extra], env=env)


def bench_command(mirror: str | None, extra: list[str]) -> list[str]:
    """make bench's Snakemake call: the MNIST comparison, from ``mirror`` when there is one."""
    settings = ["datasets=[mnist]", *([f"mirror={mirror}"] if mirror else [])]
    return snakemake_command("--config", *settings, *extra)


def default_mirror() -> str | None:
    return MIRROR if (checkout() / MIRROR).is_dir() else None


def bench(args, extra: list[str]) -> int:
    status = call(bench_command(args.mirror or default_mirror(), extra))
    if status == 0:
        from mlpcompare.aggregating import throughput_table

        tables = [checkout() / RESULTS.top(name) for name in ("throughput.csv", "summary.csv")]
        throughput_table.main([str(path) for path in tables])
    return status


def preset_path(preset: str) -> str:
    """The --configfile of a study: presets/PRESET.yaml by name, or a YAML file's path."""
    given = Path(preset)
    if given.suffix in (".yaml", ".yml") and given.is_file():
        return str(given.resolve())
    name = f"presets/{preset}.yaml"
    if not (checkout() / name).is_file():
        known = sorted(path.stem for path in (checkout() / "presets").glob("*.yaml"))
        raise logs.UserError(
            f"no preset {preset!r}: choose one of {', '.join(known)}, or give a YAML file"
        )
    return name


def study(args, extra: list[str]) -> int:
    return call(snakemake_command("--configfile", preset_path(args.preset), *extra))


def report(args, extra: list[str]) -> int:
    # The target first: after a list-valued option (--config a=b) it would be read as a value.
    return call(snakemake_command(REPORT, *extra))


# --- finished runs ----------------------------------------------------------------------------


def compare(args, extra: list[str]) -> int:
    from mlpcompare.comparing import compare as comparing
    from mlpcompare.comparing import render, sources

    with tempfile.TemporaryDirectory(prefix="mlpcompare-") as scratch:
        a = sources.open_results(args.a, Path(scratch))
        b = sources.open_results(args.b, Path(scratch))
        comparison = comparing.compare(a, b)
        regressed = (
            comparing.regressions(comparison, args.fail_on_regression)
            if args.fail_on_regression is not None
            else []
        )
        line = (
            render.regression_line(regressed, args.fail_on_regression)
            if args.fail_on_regression is not None
            else None
        )
        sys.stdout.write(render.markdown(comparison, line))
        Path(args.html).write_text(render.html(comparison, line))
    sys.stdout.write(f"\nHTML: {args.html}\n")
    return 1 if regressed else 0


def pack(args, extra: list[str]) -> int:
    from mlpcompare.comparing.pack import pack as write_pack

    archive = write_pack(args.results or default_results(), args.output, models=args.models)
    sys.stdout.write(f"{archive}\n")
    return 0


def default_results() -> Path:
    """The checkout's results/ (where `mlpcompare run` writes), else ./results."""
    try:
        return checkout() / RESULTS.root
    except logs.UserError:
        return Path(RESULTS.root)


def percent(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mlpcompare",
        description="The same MLP in NumPy, PyTorch, Keras and JAX, compared. Workflow "
        "commands pass options they do not know to Snakemake.",
    )
    sub = top.add_subparsers(dest="command", required=True)
    workflow = {"passes_through": True}

    cmd = sub.add_parser("run", help="the comparison: snakemake --cores 8 (make run)")
    cmd.set_defaults(handler=run, **workflow)

    cmd = sub.add_parser(
        "resume", help="after a hard stop: unlock safely, rerun the cut-off jobs (make resume)"
    )
    cmd.set_defaults(handler=resume, **workflow)

    cmd = sub.add_parser("bench", help="the MNIST comparison, then its tables (make bench)")
    cmd.add_argument("--mirror", default=None,
                     help=f"dataset mirror (default: {MIRROR} when it exists, else the official URLs)")  # fmt: skip
    cmd.set_defaults(handler=bench, **workflow)

    cmd = sub.add_parser(
        "study", help="a ready-made study: snakemake --configfile presets/PRESET.yaml"
    )
    cmd.add_argument(
        "preset", help="a name in presets/ (regularization, scaling, ...) or a YAML file"
    )
    cmd.set_defaults(handler=study, **workflow)

    cmd = sub.add_parser("report", help=f"the report and what it needs: snakemake {REPORT}")
    cmd.set_defaults(handler=report, **workflow)

    cmd = sub.add_parser("compare", help="two finished runs side by side (docs/command.md)")
    cmd.add_argument("a", help="run A: a results folder or an archive from mlpcompare pack")
    cmd.add_argument("b", help="run B, compared against A")
    cmd.add_argument("--html", default="compare.html",
                     help="where the HTML page goes (default: compare.html in the current folder)")  # fmt: skip
    cmd.add_argument("--fail-on-regression", type=percent, metavar="PCT",
                     help="exit 1 when an accuracy or speed measure is worse beyond the seeds' "
                     "spread and by more than PCT %% of A's value")  # fmt: skip
    cmd.set_defaults(handler=compare, passes_through=False)

    cmd = sub.add_parser("pack", help="one zip archive of a run: report, tables, run.json")
    cmd.add_argument("results", nargs="?", help="the results folder (default: the checkout's)")
    cmd.add_argument(
        "-o", "--output", help="the archive (default: mlpcompare-<date>-<commit>.zip here)"
    )
    cmd.add_argument("--models", action="store_true", help="also the trained models")
    cmd.set_defaults(handler=pack, passes_through=False)
    return top


def main(argv: list[str] | None = None) -> int:
    command = parser()
    args, extra = command.parse_known_args(argv)
    if extra and not args.passes_through:
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.handler(args, extra)
    except Exception as err:
        line = logs.one_line(err)
        if line is None:
            raise
        sys.stderr.write(f"mlpcompare: error: {line}\n")
        return BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
