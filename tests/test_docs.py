"""The user documentation stays true: every Snakemake command it shows runs as written (as a dry
run), the README stays short and links only guides that exist, and the guides state what is
rather than the story of the work."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MIRROR, ROOT, copy_workflow

README = ROOT / "README.md"
GUIDES = sorted((ROOT / "docs").glob("*.md"))
PRESETS = sorted((ROOT / "presets").glob("*.yaml"))
# Files whose comments show commands: the presets and config.yaml.
COMMENTED = [*PRESETS, ROOT / "config.yaml"]

# One interpreter runs every dry run in turn (Snakemake's own command-line entry point): the
# imports (Snakemake, the package, NumPy) are paid once, a few seconds, and each command after
# that costs about a second where a fresh `snakemake` costs several.
DRIVER = """\
import json, sys
from snakemake.cli import main

codes = []
for argv in json.load(open(sys.argv[1])):
    try:
        main(argv)
    except SystemExit as end:
        codes.append(end.code or 0)
    else:
        codes.append(0)
json.dump(codes, open(sys.argv[2], "w"))
"""


def shown_commands(text: str, prefix: str = "") -> list[str]:
    """The `snakemake ...` command lines of ``text`` (lines of a fenced block in Markdown, or
    comment lines after ``prefix``): continuations joined, trailing comments removed."""
    commands, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if prefix:
            if not line.startswith(prefix):
                continue
            line = line[len(prefix) :].strip()
        line = pending + line
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line.startswith("snakemake "):
            commands.append(shlex.join(shlex.split(line, comments=True)))
    return commands


def fenced(text: str) -> str:
    """The contents of the fenced code blocks of a Markdown text."""
    return "\n".join(re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S))


def documented_commands() -> dict[str, list[str]]:
    """Each documented `snakemake` command that names a config (`--config`, `--configfile`)
    -> the files that show it."""
    found: dict[str, list[str]] = {}
    sources = [(p, shown_commands(fenced(p.read_text()))) for p in [README, *GUIDES]]
    sources += [(p, shown_commands(p.read_text(), prefix="#")) for p in COMMENTED]
    for path, commands in sources:
        for command in commands:
            if "--config" in command:  # --config and --configfile
                found.setdefault(command, []).append(str(path.relative_to(ROOT)))
    return found


def documented_config_files() -> dict[str, str]:
    """Config files a guide shows in full (a ```yaml block whose first line is `# NAME.yaml`),
    so that the commands that pass them can run: name -> text."""
    files = {}
    for path in [README, *GUIDES]:
        for name, body in re.findall(
            r"^```yaml\n# ([\w.-]+\.yaml)\n(.*?)^```", path.read_text(), re.M | re.S
        ):
            files[name] = body
    return files


COMMANDS = documented_commands()


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    """A fresh copy of the workflow with the presets, at <tmp>/main, so that a command's
    `../shared/datasets` is the mirror beside the checkout (linked when there is one)."""
    base = tmp_path_factory.mktemp("docs")
    (base / "main").mkdir()
    workdir = copy_workflow(base / "main")
    shutil.copytree(ROOT / "presets", workdir / "presets")
    for name, text in documented_config_files().items():
        (workdir / name).write_text(text)
    if MIRROR.is_dir():
        (base / "shared").mkdir()
        (base / "shared" / "datasets").symlink_to(MIRROR)
    return workdir


def test_the_docs_show_the_preset_and_config_commands():
    assert len(COMMANDS) >= 10, COMMANDS
    every_preset = {f"presets/{p.name}" for p in PRESETS}
    shown = {
        word for command in COMMANDS for word in command.split() if word.startswith("presets/")
    }
    assert every_preset <= shown, f"presets without a documented command: {every_preset - shown}"


def test_every_documented_command_runs_as_written(workflow_copy, tmp_path):
    """Each command, `-n` added, in a clean copy of the workflow: exit status 0."""
    commands = [c for c in COMMANDS if MIRROR.is_dir() or "../shared/datasets" not in c]
    if not commands:
        pytest.skip("no documented command can run without the mirror")
    argvs = [["-n", *shlex.split(c)[1:]] for c in commands]
    (tmp_path / "argv.json").write_text(json.dumps(argvs))
    (tmp_path / "driver.py").write_text(DRIVER)
    files = [str(tmp_path / name) for name in ("driver.py", "argv.json", "codes.json")]
    driver = subprocess.run(
        [sys.executable, *files], cwd=workflow_copy, capture_output=True, text=True, timeout=600
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    codes = json.loads((tmp_path / "codes.json").read_text())
    failed = [c for c, code in zip(commands, codes, strict=True) if code]
    # Each failure once more on its own, for its message.
    exe = Path(sys.executable).with_name("snakemake")
    messages = [
        f"{c}  (in {', '.join(COMMANDS[c])}):\n"
        + snakemake_tail([str(exe), "-n", *shlex.split(c)[1:]], workflow_copy)
        for c in failed
    ]
    assert not failed, "documented commands that fail as a dry run:\n" + "\n".join(messages)


def snakemake_tail(argv: list[str], workdir: Path) -> str:
    run = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, timeout=300)
    return (run.stdout + run.stderr)[-800:]


def test_a_documented_config_error_is_what_the_workflow_prints(workflow_copy):
    """configuration.md shows a typo and its one-line error: the workflow prints that line."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    shown = re.search(r"^\$ (snakemake [^\n]+)\n(config error: [^\n]+)$", fenced(text), re.M)
    assert shown, "docs/configuration.md shows no `$ snakemake ...` with its config error"
    command, error = shown.groups()
    exe = Path(sys.executable).with_name("snakemake")
    run = subprocess.run(
        [str(exe), *shlex.split(command)[1:]],
        cwd=workflow_copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert error in run.stdout + run.stderr


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 200


def test_readme_links_only_guides_that_exist():
    linked = re.findall(r"\]\((docs/[^)#\s]+)", README.read_text())
    assert linked
    missing = sorted({link for link in linked if not (ROOT / link).exists()})
    assert not missing, f"README links files that do not exist: {missing}"


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_guides_link_only_guides_and_sections_that_exist():
    missing = []
    for guide in [README, *GUIDES]:
        for link, anchor in re.findall(
            r"\]\(((?:docs/)?[\w.-]+\.md)(?:#([^)]*))?\)", guide.read_text()
        ):
            target = guide.parent / link
            if not target.exists():
                missing.append(f"{guide.name} -> {link}")
            elif anchor:
                headings = re.findall(r"^#+ (.+)$", target.read_text(), re.M)
                if anchor not in {slug(h) for h in headings}:
                    missing.append(f"{guide.name} -> {link}#{anchor}")
    assert not missing, missing


WORK_STORY = re.compile(r"\bsession \d+|\bthis session\b|\bround \d+|\bnumbered rounds?\b", re.I)


@pytest.mark.parametrize("path", [README, *GUIDES], ids=lambda p: p.name)
def test_docs_state_what_is_not_the_story_of_the_work(path):
    hits = [line for line in path.read_text().splitlines() if WORK_STORY.search(line)]
    assert not hits, hits
