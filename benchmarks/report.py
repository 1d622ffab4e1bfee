"""The shared parts of every benchmark report: the header (device, date, command) and writing the file."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys

import jax


def header(title: str, script: str, argv=None) -> list[str]:
    """Markdown lines: title, device, date and the command line that produced the report."""
    dev = jax.devices()[0]
    args = shlex.join(argv if argv is not None else sys.argv[1:])  # quoted: the line pastes into a shell as is
    return [
        f"# {title}",
        "",
        f"- device: `{dev.platform}` — {dev.device_kind} ({jax.device_count()} device(s)); host "
        f"{platform.machine()}, {os.cpu_count()} CPU cores",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; jax {jax.__version__}",
        f"- command: `python benchmarks/{script} {args}`".rstrip("` ") + "`",
    ]


def write(path: str, lines: list[str]) -> None:
    """Write the report (creating its folder) and say where."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")
