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
    ] + device_memory()


def device_memory() -> list[str]:
    """A line with the device's peak memory in use so far in this process (what the allocator handed out, not
    the pool XLA reserves up front), where the backend counts it (GPUs; the CPU does not)."""
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" not in stats:
        return []
    limit = stats.get("bytes_limit")
    of = f" of the {limit / 2**30:.0f} GiB the runtime may use" if limit else ""
    return [f"- device memory: peak {stats['peak_bytes_in_use'] / 2**30:.1f} GiB in use so far{of} (an H100 has 80 GB)"]


def write(path: str, lines: list[str]) -> None:
    """Write the report (creating its folder) and say where."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")
