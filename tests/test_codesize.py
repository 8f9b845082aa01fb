"""Lines of code as the tokenizer sees them: comments, blanks and docstrings do not count."""

from mlpcompare.measuring import codesize

SOURCE = '''"""Module docstring
spanning three lines.
"""

import numpy as np  # a trailing comment does not hide code


# a comment line
def f(x):
    """Function docstring."""
    s = "# not a comment"
    return np.add(
        x,

        1,
    )


class A:
    "single-quoted docstring"

    text = """a string
in code"""
'''


def test_code_lines_by_hand():
    # import; def; s = ...; return np.add( x, 1, ) -> 4 non-blank lines; class; text = (2 lines)
    assert codesize.code_lines(SOURCE) == 1 + 1 + 1 + 4 + 1 + 2


def test_empty_and_comment_only_sources_have_no_code():
    assert codesize.code_lines("") == 0
    assert codesize.code_lines("# only a comment\n\n") == 0


def test_count_expands_packages_and_sums_files(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text('"""Docstring only."""\n')
    (package / "a.py").write_text("x = 1\ny = 2\n")
    (package / "notes.txt").write_text("x = 1\n")
    single = tmp_path / "single.py"
    single.write_text("import os\n")
    rows = codesize.count({"p": [str(package)], "s": [str(single)]})
    assert rows == [
        {"framework": "p", "files": 2, "loc": 2},
        {"framework": "s", "files": 1, "loc": 1},
    ]
