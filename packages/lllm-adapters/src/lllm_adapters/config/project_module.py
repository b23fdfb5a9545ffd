"""Importing a module of a project folder (its system module, its scripted-model hook) so that
two projects never share one.

A project names its modules as seen from its folder (``system.system``, ``scripted``). Importing
them by those names would put the folder on ``sys.path`` for good and let ``sys.modules`` hand
the second project the first one's ``system`` package. Instead each project folder becomes a
synthetic package named after a hash of its path (``_lllm_project_<folder>_<hash>``) and the
module is imported inside it, so relative imports (``from .tools import add``) work as usual.
While the import runs the folder is also on ``sys.path``, for modules that import their
siblings by absolute name; afterwards it is removed, and so are the modules imported that way,
so they cannot leak into the next project.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import types
from pathlib import Path

from lllm_domain.errors import ConfigError

from lllm_adapters.config.discovery import ensure_package
from lllm_adapters.config.source import describe_failure, failure_location

PROJECT_PACKAGE_PREFIX = "_lllm_project_"
"""The prefix of every project folder's synthetic package."""


def project_package_name(root: Path) -> str:
    """The synthetic package a project folder's modules are imported under (unique per
    folder)."""
    folder = root.resolve()
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in folder.name)
    return f"{PROJECT_PACKAGE_PREFIX}{safe}_{digest}"


def _in_project(name: str, root: Path) -> bool:
    top = name.split(".", 1)[0]
    return (root / f"{top}.py").is_file() or (root / top).is_dir()


def _under(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except OSError:  # pragma: no cover - a frame of a file that vanished
        return False


def import_project_module(root: Path, name: str, *, what: str) -> types.ModuleType:
    """Import module ``name`` (dotted, as seen from the project folder ``root``).

    A module that is not in the folder is imported as an ordinary installed module. Raises
    :class:`ConfigError`: for a module that cannot be found (without a file: the caller knows
    which setting named it), and for one that fails while it is imported (also by
    ``sys.exit``), naming the project file and line where it failed and the original error.
    ``what`` names the module in messages (``[project] system_module``).
    """
    root = root.resolve()
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise ConfigError(
            f"{what} {name!r} is not a module name; write a dotted name such as 'system.system'"
        )
    local = _in_project(name, root)
    package = project_package_name(root)
    dotted = f"{package}.{name}" if local else name
    if local:
        ensure_package(package, root)
    before = set(sys.modules)
    added_path = str(root) not in sys.path
    if added_path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (dotted == exc.name or dotted.startswith(exc.name + ".")):
            where = f"in {root}" if local else f"in {root} or among the installed packages"
            raise ConfigError(
                f"cannot find {what} {name!r} {where}; fix the name (it is relative to the "
                "project folder)"
            ) from None
        raise _failure(exc, root, what, name) from None
    except (Exception, SystemExit) as exc:  # sys.exit() in a module is a fault, not an exit
        raise _failure(exc, root, what, name) from None
    finally:
        if added_path and str(root) in sys.path:
            sys.path.remove(str(root))
        # Siblings imported by absolute name ('import helpers') must not be found by the next
        # project under the same name; the modules that imported them keep their references.
        for key in set(sys.modules) - before:
            module = sys.modules.get(key)
            file = getattr(module, "__file__", None)
            if key.startswith("_lllm_") or not file or not _under(Path(file), root):
                continue
            del sys.modules[key]


def _failure(exc: BaseException, root: Path, what: str, name: str) -> ConfigError:
    file, line = failure_location(exc, lambda path: _under(path, root))
    return ConfigError(
        f"{what} {name!r} failed to import: {describe_failure(exc)}; fix the module",
        file=None if file is None else str(file),
        line=line,
    )
