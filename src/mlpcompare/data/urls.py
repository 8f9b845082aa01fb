"""URLs as the fetcher handles them: credentials kept out of every log line and message
(:func:`redact`, :func:`scrub`), a base URL's query kept when a file name is appended
(:func:`join_url`)."""

from __future__ import annotations

import re
import urllib.parse


def redact(location: str) -> str:
    """``location`` without the credentials a URL can carry, for logs and messages.

    The user info becomes ``***`` (``https://***@host/``) and so does every query and fragment
    value (``?token=***``). Anything that is not a URL with a host (a local path) comes back
    unchanged.
    """
    try:
        parts = urllib.parse.urlsplit(location)
    except ValueError:  # e.g. an unbalanced "[" in the host: show nothing of it
        return "***"
    if not (parts.scheme and parts.netloc):
        return location
    host = parts.netloc.rpartition("@")[2]
    netloc = f"***@{host}" if "@" in parts.netloc else host
    return urllib.parse.urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            _redact_params(parts.query),
            _redact_params(parts.fragment),
        )
    )


def _redact_params(text: str) -> str:
    """``a=1&b`` -> ``a=***&***``: keys stay readable, values (tokens, signatures) do not."""
    items = []
    for item in text.split("&"):
        key, sep, _ = item.partition("=")
        items.append(f"{key}=***" if sep else ("***" if item else ""))
    return "&".join(items)


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def scrub(text: str, url: str) -> str:
    """An exception's text with every URL in it redacted and ``url``'s secrets masked (some
    errors quote a URL's path and query without its scheme)."""
    text = _URL_IN_TEXT.sub(lambda match: redact(match.group()), text)
    parts = urllib.parse.urlsplit(url)
    secrets = [parts.username, parts.password]
    for params in (parts.query, parts.fragment):
        secrets += [item.partition("=")[2] or item for item in params.split("&")]
    # Longest first, so a secret containing another is masked whole; very short values (a page
    # number, a flag) are no secret and masking them would garble the message.
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***").replace(urllib.parse.unquote(secret), "***")
    return text


def join_url(base: str, *names: str) -> str:
    """``base`` with ``names`` appended to its path; its query and fragment are kept whole.

    A presigned or token-carrying base (``https://host/bucket?token=abc``) thus yields
    ``https://host/bucket/mnist/file.gz?token=abc``, with or without a trailing slash.
    """
    parts = urllib.parse.urlsplit(base)
    path = "/".join([parts.path.rstrip("/"), *(urllib.parse.quote(n) for n in names)])
    return urllib.parse.urlunsplit(parts._replace(path=path))
