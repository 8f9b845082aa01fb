"""What the report reads: the result files its rule declares, and its own files under
``report/`` (template, stylesheet, captions, column labels, reference results).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

import jinja2
import yaml

from mlpcompare import frameworks, io
from mlpcompare.layout import Layout
from mlpcompare.presenting.report_format import aligned


def png_uri(path: str | os.PathLike) -> str:
    """A PNG as a data URI, so the page needs no file beside it."""
    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG"):
        raise ValueError(f"{path}: not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


class Results:
    """Reads the result files a rule declares (``declared``: its input paths), under ``root``:
    paths come from :class:`~mlpcompare.layout.Layout`, and one the rule did not declare is
    refused, so the rule's inputs and what the page shows cannot drift apart."""

    def __init__(self, root: str | os.PathLike, declared: Iterable[str | os.PathLike]):
        self.layout = Layout(str(root))
        self.declared = {os.path.normpath(path) for path in declared}

    def path(self, path: str) -> str:
        """``path``, once checked to be among the declared inputs."""
        if os.path.normpath(path) not in self.declared:
            raise ValueError(f"{path}: not an input of the rule, so not read")
        return path

    def csv(self, path: str) -> dict:
        """A CSV as ``{"columns": [...], "rows": [[raw cell text, ...], ...]}``."""
        rows = self.rows(path)
        columns = list(rows[0]) if rows else []
        return aligned({"columns": columns, "rows": [list(row.values()) for row in rows]})

    def rows(self, path: str) -> list[dict]:
        """A CSV as rows of raw text."""
        return io.read_csv(self.path(path))

    def json(self, path: str):
        return io.read_json(self.path(path))

    def png(self, path: str) -> str:
        return png_uri(self.path(path))


class Assets:
    """The report's own files under ``report/``: template, stylesheet, captions, data."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.template = self.folder / "templates" / "report.html.j2"
        self.labels = self._yaml("labels.yaml")
        self.references = self._yaml("references.yaml")

    def _yaml(self, name: str) -> dict:
        return yaml.safe_load((self.folder / name).read_text())

    def css(self) -> str:
        """The stylesheet, plus each framework's colour (registry) as its ``fw-<name>`` class."""
        css = (self.folder / "style.css").read_text()
        colours = "".join(
            f".fw-{name} {{ border-color: {fw.colour}; }}\n"
            for name, fw in frameworks.REGISTRY.items()
        )
        return css + colours

    def caption(self, figure: str, **wildcards: str) -> str:
        """Figure ``figure``'s caption (``captions/<figure>.rst``) for ``wildcards``, as plain
        text: the reStructuredText marks (``literal``, **strong**) dropped."""
        text = (self.folder / "captions" / f"{figure}.rst").read_text()
        context = {"snakemake": SimpleNamespace(wildcards=SimpleNamespace(**wildcards))}
        text = jinja2.Template(text).render(context)
        return " ".join(re.sub(r"``|\*\*", "", text).split())
