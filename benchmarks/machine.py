"""What the benchmarks ran on: machine facts and the version of every engine."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

import psutil

__all__ = ["machine_info", "versions"]

_PACKAGES = (
    "gleamnb",
    "pyarrow",
    "numpy",
    "pandas",
    "polars",
    "duckdb",
    "dask",
    "distributed",
    "pyspark",
    "matplotlib",
    "psutil",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def machine_info() -> dict[str, str | int]:
    """CPU model, cores, RAM and OS of this machine.

    Returns
    -------
    dict
        ``cpu``, ``logical_cores``, ``physical_cores``, ``ram_bytes``, ``os``, ``kernel``.
    """
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count() or 0,
        "physical_cores": psutil.cpu_count(logical=False) or 0,
        "ram_bytes": psutil.virtual_memory().total,
        "os": _os_name(),
        "kernel": platform.release(),
        "arch": platform.machine(),
    }


def _first_line(cmd: list[str]) -> str | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if proc.returncode == 0 and text else None


def versions() -> dict[str, str]:
    """Versions of Python, every engine package, Java and GNU coreutils.

    Returns
    -------
    dict
        Name -> version (``"not installed"`` when missing).
    """
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    java = None
    try:
        proc = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60)
        lines = proc.stderr.strip().splitlines()
        java = lines[0] if proc.returncode == 0 and lines else None
    except (OSError, subprocess.SubprocessError):
        pass
    found["java"] = java or "not installed"
    found["coreutils"] = _first_line(["sort", "--version"]) or "not found"
    return found
