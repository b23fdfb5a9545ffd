"""A log writer run as a subprocess by the crash and multi-process tests.

``python -m tests.support.logs_writer <kind> <root> <session> <count> [tag]`` appends records
``{"i", "tag", "payload"}`` (alternating single appends and batches of 3) and prints each ``i``
once its append has returned. ``count`` 0 means forever.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.logs_stores import make_store

PAYLOAD = "x" * 2000


def main(argv: list[str]) -> None:
    kind, root, session, count = argv[0], Path(argv[1]), argv[2], int(argv[3])
    tag = argv[4] if len(argv) > 4 else "w"
    store = make_store(kind, root)
    i = 0
    while count == 0 or i < count:
        if i % 2:
            store.append("messages", session, {"i": i, "tag": tag, "payload": PAYLOAD})
            done = [i]
        else:
            done = [i, i + 1, i + 2]
            store.append_many(
                "messages", session, [{"i": j, "tag": tag, "payload": PAYLOAD} for j in done]
            )
        for j in done:
            sys.stdout.write(f"{j}\n")
        sys.stdout.flush()
        i = done[-1] + 1


if __name__ == "__main__":
    main(sys.argv[1:])
