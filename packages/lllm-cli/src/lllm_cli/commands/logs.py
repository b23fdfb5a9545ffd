"""`lllm logs`: list logged sessions, show one as a transcript, its cost, export it as HTML."""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from cyclopts import Parameter

from lllm_cli.commands.options import LogSource, LogSourceOptions, SessionArgument
from lllm_cli.errors import CommandError

if TYPE_CHECKING:
    from lllm_domain.ports import LogStore
    from lllm_domain.replay import ReplaySession


def _store(source: LogSource | None) -> LogStore:
    """The log store: ``--log-dir`` (local files) or the project's system config."""
    source = source or LogSource()
    project, config, log_dir = source.project, source.config, source.log_dir
    if log_dir is not None:
        from lllm_adapters.logs import SQLITE_FILE, open_log_store

        if not log_dir.is_dir():
            raise CommandError(f"--log-dir {str(log_dir)!r} is not a folder; fix the path")
        kind = "sqlite" if (log_dir / SQLITE_FILE).is_file() else "localfile"
        return open_log_store(kind, log_dir)
    from lllm_cli.composition import find_logs
    from lllm_cli.project import open_project

    opened = open_project(project)
    try:
        system_config = opened.load_system_config(config)
    except CommandError:
        system_config = None
    return find_logs(opened, system_config)


_PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def default_html_file(session: str, shown: str) -> Path:
    """Where ``logs export`` writes without ``--html``: a file in the current folder, whatever
    the session name says (names are data: ``../../x`` or ``/abs/path`` must not choose the
    folder). A plain name of up to 100 characters is kept (``demo-20250101.html``); any other
    becomes the log stores' safe key of it, a readable slug of ``shown`` (the redacted name)
    and a hash of the real one."""
    if _PLAIN_FILE_NAME.fullmatch(session) and session == shown:
        return Path(f"{session}.html")
    from lllm_adapters.logs.session_key import session_key

    return Path(f"{session_key(session, readable=shown)}.html")


LAST = "last"
"""The session name that means the most recent session (also the default)."""


def _started(store: LogStore, session: str) -> float:
    from lllm_domain.replay import ReplaySession

    activities = ReplaySession(store, session).activities()
    return activities[0].time if activities else 0.0


def _session(store: LogStore, session: str | None) -> ReplaySession:
    """The named session; ``None`` or ``last`` (unless a session is named so) is the most
    recently started one."""
    from lllm_domain.replay import ReplaySession

    known = store.sessions()
    if session is None or (session == LAST and LAST not in known):
        if not known:
            raise CommandError("no logged sessions yet; run `lllm run TASK` first")
        # Ties (same start time) go to the later one in the store's own order.
        latest = max(enumerate(known), key=lambda item: (_started(store, item[1]), item[0]))
        return ReplaySession(store, latest[1])
    if session not in known:
        from lllm_cli.composition import unknown_session

        # A session whose name held a secret is listed redacted; its real name works too.
        replay = ReplaySession(store, session)
        if not replay.activities():
            raise unknown_session(store, session)
        return replay
    return ReplaySession(store, session)


def list_sessions(
    *,
    source: LogSourceOptions = None,
) -> int:
    """List the logged sessions, oldest first, with their task and cost."""
    from lllm_domain.replay import ReplaySession

    store = _store(source)
    rows = []
    for name in store.sessions():
        replay = ReplaySession(store, name)
        activities = replay.activities()
        start = activities[0].time if activities else 0.0
        task = next((str(a.data.get("task", "")) for a in activities if a.kind == "sessions"), "")
        rows.append((start, name, task, replay.costs().session.cost.total_usd))
    if not rows:
        print("No logged sessions yet; run `lllm run TASK` first.")
        return 0
    import datetime as dt

    for start, name, task, cost in sorted(rows):
        when = dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        task_text = task.replace("\n", " ")
        if len(task_text) > 50:
            task_text = task_text[:49] + "…"
        print(f"{when}  {name}  ${cost:.6f}  {task_text}")
    return 0


def show(
    session: SessionArgument = None,
    *,
    source: LogSourceOptions = None,
) -> int:
    """Show a session as a readable transcript."""
    from lllm_cli.transcript import render_text, transcript_entries

    replay = _session(_store(source), session)
    print(f"session {replay.session}")
    print(render_text(transcript_entries(replay.activities())))
    totals = replay.costs().session
    print(
        f"total: ${totals.cost.total_usd:.6f} · {totals.replies} model replies · "
        f"{totals.usage.input_tokens} input + {totals.usage.output_tokens} output tokens"
    )
    return 0


def cost(
    session: SessionArgument = None,
    *,
    source: LogSourceOptions = None,
) -> int:
    """Show a session's token usage and cost, in total, per agent and per model."""
    replay = _session(_store(source), session)
    print(replay.costs().table())
    return 0


def export(
    session: SessionArgument = None,
    *,
    html: Annotated[Path | None, Parameter(name=["--html"])] = None,
    source: LogSourceOptions = None,
) -> int:
    """Export a session as a self-contained HTML timeline (open it in any browser).

    Parameters
    ----------
    html
        The HTML file to write (default: <session>.html here, made from the session name).
    """
    from lllm_adapters.observability.redaction import Redactor

    from lllm_cli.html_timeline import render_html
    from lllm_cli.transcript import transcript_entries

    replay = _session(_store(source), session)
    # The name may be the real one of a session listed redacted: show the redacted one.
    shown = Redactor.from_environment().redact_text(replay.session)
    if html is None:
        html = default_html_file(replay.session, shown)
    totals = replay.costs().session
    page = render_html(
        shown,
        transcript_entries(replay.activities()),
        summary=(
            ("cost", f"${totals.cost.total_usd:.6f}"),
            ("model replies", str(totals.replies)),
            ("input tokens", str(totals.usage.input_tokens)),
            ("output tokens", str(totals.usage.output_tokens)),
            ("dialogs", str(len(replay.dialogs))),
        ),
    )
    try:
        if html.parent and not html.parent.exists():
            raise CommandError(
                f"the folder of --html {str(html)!r} does not exist; create it first"
            )
        data = page.encode("utf-8")
        html.write_bytes(data)
    except OSError as exc:
        raise CommandError(
            f"cannot write --html {str(html)!r}: {exc.strerror or exc}; choose a writable path"
            + (" with a shorter name" if exc.errno == errno.ENAMETOOLONG else "")
        ) from None
    print(f"Wrote {html} ({len(data)} bytes); open it in a browser.")
    return 0
