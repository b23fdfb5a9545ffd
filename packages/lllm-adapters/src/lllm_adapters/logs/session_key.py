"""Safe on-disk keys for session names.

Session names are data, not paths: a task text such as ``../../etc/passwd``, a name with slashes,
NUL characters or hundreds of characters must never escape the log folder. A key keeps a short
readable slug of the name (for people browsing the folder) and a hash of the whole name (so two
names that slug alike never collide).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SLUG_CHARS = 40
_HASH_CHARS = 16


def session_key(name: str, *, readable: str | None = None) -> str:
    """A folder-safe key for the session called ``name``: ``<slug>-<hash>``.

    The slug is made from ``readable`` when given (stores pass the redacted name, so a secret
    in a session name never shows in a folder name) and from ``name`` otherwise.

    The slug keeps ASCII letters, digits, ``.``, ``_`` and ``-`` (everything else becomes ``_``),
    never starts with a dot and is at most 40 characters; the hash is 16 hex digits of the SHA-256
    of the full name, so the key is unique per name and at most 57 characters long.
    """
    source = name if readable is None else readable
    folded = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode("ascii")
    slug = _UNSAFE.sub("_", folded).strip("._")[:_SLUG_CHARS].strip("._") or "session"
    return f"{slug}-{session_hash(name)}"


def session_hash(name: str) -> str:
    """The identity part of a session key: 16 hex digits of the SHA-256 of ``name``."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]


def collection_key(name: str, *, readable: str | None = None) -> str:
    """The folder name of a collection: the name itself when it is a plain identifier (the
    usual ``dialogs``, ``messages``, ``frontend``, ``calls``), otherwise a :func:`session_key`."""
    if re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
        return name
    return session_key(name, readable=readable)
