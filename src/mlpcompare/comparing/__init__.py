"""Two runs side by side (``mlpcompare compare``) and a run in one file (``mlpcompare pack``).

:mod:`~mlpcompare.comparing.sources` opens a results folder or a packed archive,
:mod:`~mlpcompare.comparing.compare` computes what differs beyond the seeds' spread,
:mod:`~mlpcompare.comparing.render` writes it as Markdown and HTML, and
:mod:`~mlpcompare.comparing.pack` writes the archive.
"""
