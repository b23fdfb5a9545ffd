"""Project scaffolds for `lllm create`, as package data, and a tiny loader.

Each scaffold lives under ``lllm_templates/scaffolds/<template>/``. The placeholder
:data:`PLACEHOLDER` stands for the project name in file contents and in paths; it is a valid
Python identifier, so a scaffold's Python files stay valid Python before rendering.
"""

from lllm_templates.loader import (
    PLACEHOLDER,
    TemplateFile,
    UnknownTemplateError,
    available_templates,
    template_files,
)

__all__ = [
    "PLACEHOLDER",
    "TemplateFile",
    "UnknownTemplateError",
    "available_templates",
    "template_files",
]
