"""`lllm create`: a new project from a template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from lllm_cli.scaffold import create_project


def create(
    name: Annotated[str, Parameter(name=["--name", "-n"])],
    *,
    template: Annotated[str, Parameter(name=["--template", "-t"])] = "init_template",
    dir: Annotated[Path, Parameter(name=["--dir", "-d"])] = Path(),
) -> int:
    """Create a new project from a template.

    Parameters
    ----------
    name
        The project name: a Python identifier such as my_agent (also its folder name).
    template
        The template to copy: init_template (minimal) or example (a fuller tour).
    dir
        The parent folder of the new project (default: the current folder).
    """
    target = create_project(name, template, dir)
    print(f"Created {template} project {name!r} in {target}")
    print("Next steps:")
    print(f"  cd {target}")
    print('  lllm run "your task" --model scripted   # offline, no API key needed')
    print('  OPENAI_API_KEY=... lllm run "your task"  # a real model')
    return 0
