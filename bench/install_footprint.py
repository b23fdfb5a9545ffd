"""Install footprint: how many packages and how many megabytes each install brings.

Run: uv run python bench/install_footprint.py [--root PATH] [SPEC ...]

Builds the workspace's wheels (``uv build --all-packages --wheel``), then installs each
requirement (``lllm-domain``, ``lllm-adapters``, ``lllm-adapters[openai]``, ..., ``lllm-cli`` by
default) into its own fresh virtual environment: the workspace's packages from the built wheels
(only those the requirement needs), third-party packages from the registry (or uv's cache). The
table shows the number of installed distributions (the workspace's own included) and the size
of ``site-packages`` (files as installed, no bytecode).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECS = (
    "lllm-domain",
    "lllm-adapters",
    "lllm-adapters[openai]",
    "lllm-adapters[openai,tokens]",
    "lllm-adapters[jupyter]",
    "lllm-adapters[all]",
    "lllm-cli",
)


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    return found or sys.exit("bench/install_footprint.py needs uv: python3 -m pip install uv")


def _run(args: list[str], cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _size(folder: Path) -> int:
    """Bytes of every regular file under ``folder`` (symbolic links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def build_wheels(root: Path, out: Path) -> list[Path]:
    """Build every workspace package's wheel into ``out``; return the wheels."""
    _run([_uv(), "build", "--all-packages", "--wheel", "--out-dir", str(out)], cwd=root)
    return sorted(out.glob("*.whl"))


def _workspace_requirements(wheel: Path, names: set[str]) -> set[str]:
    """The workspace packages ``wheel`` requires (whatever the extras)."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    required = (
        re.match(r"[A-Za-z0-9_.-]+", line.removeprefix("Requires-Dist:").strip())
        for line in lines
        if line.startswith("Requires-Dist:")
    )
    return {m.group(0).lower() for m in required if m and m.group(0).lower() in names}


def footprint(spec: str, wheels: list[Path], work: Path) -> tuple[int, int]:
    """Install ``spec`` into a fresh venv under ``work``; return (distributions, bytes)."""
    uv = _uv()
    venv = work / "venv"
    _run([uv, "venv", "--quiet", str(venv), "--python", sys.executable], cwd=work)
    by_name = {w.name.split("-")[0].replace("_", "-"): w for w in wheels}
    name, _, extras = spec.partition("[")
    # The workspace packages come from their wheels, named by direct reference so the registry
    # cannot shadow them: the requested one (with its extras) and those it needs.
    needed, todo = {name}, [name]
    while todo:
        for other in _workspace_requirements(by_name[todo.pop()], set(by_name)) - needed:
            needed.add(other)
            todo.append(other)
    requirements = [f"{name}{'[' + extras if extras else ''} @ {by_name[name].as_uri()}"]
    requirements += [f"{other} @ {by_name[other].as_uri()}" for other in sorted(needed - {name})]
    python = str(venv / "bin" / "python")
    _run([uv, "pip", "install", "--quiet", "--python", python, *requirements], cwd=work)
    listed = _run([uv, "pip", "list", "--python", python, "--format", "freeze"], cwd=work)
    count = len([line for line in listed.splitlines() if line.strip()])
    site = next((venv / "lib").glob("python*/site-packages"))
    return count, _size(site)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=ROOT, help="the workspace to build")
    parser.add_argument("specs", nargs="*", default=list(SPECS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lllm-footprint-") as tmp:
        base = Path(tmp)
        wheels = build_wheels(args.root.resolve(), base / "dist")
        print(f"{'requirement':36} {'packages':>8} {'MB':>8}")
        for index, spec in enumerate(args.specs):
            work = base / f"env{index}"
            work.mkdir()
            count, size = footprint(spec, wheels, work)
            print(f"{spec:36} {count:>8} {size / 1e6:>8.1f}")


if __name__ == "__main__":
    main()
