"""Ahead-of-time compilation shared by the benchmarks."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import jax


def compile_concurrently(lowered: dict, times: dict = None) -> dict:
    """``{name: lowered.compile()}`` with every program compiled in its own thread. XLA compiles outside
    Python's lock (measured: a Python loop keeps 91 % of its speed beside a compile), so on a many-core host
    the programs compile side by side; with Brax's generalized backend each takes tens of seconds.
    ``times`` (a dict), if given, gets ``"<name> compile"`` (each program's seconds) and ``"compile wall"``."""
    times = {} if times is None else times

    def one(name, low):
        t = time.perf_counter()
        out = low.compile()
        times[f"{name} compile"] = time.perf_counter() - t
        return out

    t = time.perf_counter()
    with ThreadPoolExecutor(max(1, len(lowered))) as pool:
        futures = {k: pool.submit(one, k, low) for k, low in lowered.items()}
        compiled = {k: f.result() for k, f in futures.items()}
    times["compile wall"] = time.perf_counter() - t
    return compiled


def footprint_gib(compiled):
    """What a compiled program needs on its device, in GiB, by XLA's own buffer assignment: arguments +
    outputs + temporaries, less the outputs that reuse (donated) arguments' buffers. Known before it runs, on
    any backend (a CPU compile of a GPU config's shapes says whether it fits an 80 GB H100, up to the GPU
    compiler's different fusion). None where the backend reports nothing."""
    try:
        m = compiled.memory_analysis()
        used = m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes
    except (AttributeError, NotImplementedError, jax.errors.JaxRuntimeError):
        return None
    return used / 2**30
