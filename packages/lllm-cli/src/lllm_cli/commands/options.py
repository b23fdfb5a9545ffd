"""The command-line options several commands share, with their help, so each command's
signature names them once and the help reads the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from attrs import frozen
from cyclopts import Parameter

ProjectOption = Annotated[
    Path | None,
    Parameter(
        name=["--project", "-p"],
        help="The project folder (default: found from the current folder upwards).",
    ),
]
"""``--project/-p``: the project folder."""

ConfigOption = Annotated[
    Path | None,
    Parameter(
        name=["--config", "-c"],
        help="The system config file (default: [project] config in lllm.toml).",
    ),
]
"""``--config/-c``: the system config a command runs or reads."""

LogConfigOption = Annotated[
    Path | None,
    Parameter(name=["--config", "-c"], help="The system config whose log settings to use."),
]
"""``--config/-c`` for the ``logs`` commands: where the logs are."""

LogDirOption = Annotated[
    Path | None,
    Parameter(name=["--log-dir"], help="Read this log folder directly instead of the project's."),
]
"""``--log-dir``: a log folder read directly."""

SessionArgument = Annotated[
    str | None,
    Parameter(
        help="The session name (see `lllm logs list`); `last` or nothing: the most recent session."
    ),
]
"""The positional session name of the ``logs`` commands."""

ProxyOption = Annotated[
    tuple[str, ...],
    Parameter(name=["--proxy"], consume_multiple=True),
]
"""``--proxy PATH ...``: the proxies a command works on (each command's docstring says how)."""


@Parameter(name="*")
@frozen
class LogSource:
    """Where the ``logs`` commands read: ``--log-dir`` directly, else the logs of the project's
    system config (flattened into the command's options)."""

    project: ProjectOption = None
    config: LogConfigOption = None
    log_dir: LogDirOption = None


LogSourceOptions = LogSource | None
"""The ``--project``/``--config``/``--log-dir`` options of a ``logs`` command."""
