"""Lines of code: non-blank lines that hold code, not comments or docstrings.

Counted from Python's own tokenizer, so a ``#`` inside a string or a docstring that spans many
lines is classified the way the interpreter sees it, not by pattern matching on text.
"""

from __future__ import annotations

import io
import token
import tokenize
from pathlib import Path

# Tokens that carry no code of their own: layout and comments.
_LAYOUT = {
    token.COMMENT, token.NL, token.NEWLINE, token.INDENT, token.DEDENT,
    token.ENCODING, token.ENDMARKER,
}  # fmt: skip


def _statements(source: str):
    """Token lists, one per logical line (a statement), layout tokens removed."""
    current: list[tokenize.TokenInfo] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == token.NEWLINE or tok.type == token.ENDMARKER:
            if current:
                yield current
            current = []
        elif tok.type not in _LAYOUT:
            current.append(tok)


def code_rows(source: str) -> set[int]:
    """The 1-based numbers of the non-blank lines that belong to a statement other than a bare
    string.

    A statement made only of string literals is a docstring (or a string used as a comment) and
    does not count; the lines of any other statement count, continuation lines included.
    """
    lines = source.splitlines()
    rows: set[int] = set()
    for statement in _statements(source):
        if all(tok.type == token.STRING for tok in statement):
            continue
        for tok in statement:
            rows.update(range(tok.start[0], tok.end[0] + 1))
    return {row for row in rows if lines[row - 1].strip()}


def code_lines(source: str) -> int:
    """Number of lines of code in ``source`` (:func:`code_rows`)."""
    return len(code_rows(source))


def python_files(path: str | Path) -> list[Path]:
    """``path`` itself if it is a file, else the ``.py`` files under it, sorted."""
    path = Path(path)
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def count(sources: dict[str, list[str]]) -> list[dict]:
    """One row per framework: the number of files and their code lines.

    ``sources`` maps a framework to its files or package folders.
    """
    rows = []
    for framework, paths in sources.items():
        files = [f for p in paths for f in python_files(p)]
        rows.append(
            {
                "framework": framework,
                "files": len(files),
                "loc": sum(code_lines(f.read_text()) for f in files),
            }
        )
    return rows
