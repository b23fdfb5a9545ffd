"""Build small LLLM projects (lllm.toml + prompt/proxy modules) in temporary folders."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write each relative path → text under ``root`` (dedented); return ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


PROJECT_TOML = """
[prompts]
folders = ["prompts"]

[proxies]
folders = ["proxies"]
"""


def prompt_module(path: str, template: str = "You are {role}.") -> str:
    """A module defining one prompt."""
    return f"""
    from lllm_domain.prompt import Prompt

    main = Prompt(path={path!r}, template={template!r})
    """


def proxy_module(class_name: str, path: str = "") -> str:
    """A module defining one proxy class."""
    return f"""
    from lllm_domain.proxy import Proxy, endpoint


    class {class_name}(Proxy):
        path = {path!r}
        base_url = "http://127.0.0.1:9"

        @endpoint("data", "items", "Some items", params={{"q*": (str, "x")}})
        def items(self, params):
            return None
    """
