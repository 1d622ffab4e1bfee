"""Where a GAIL/AIRL run's start-up time goes: tracing (``lower``) and XLA compilation of its two programs.

    python benchmarks/compile_cost.py hopper airl env.num_envs=16 eval.num_envs=4 train.eval_every=20

Builds the run exactly as ``benchmarks/quality.py --time-limit`` does (``configs/<algorithm>_<env>.yaml``,
one seed, vmapped) and prints seconds for: setup (config, envs, demonstrations), the init program (lower,
compile, run) and the training chunk of ``--chunk`` iterations (lower, compile, run). With Brax's generalized
backend the compilation dominates a short GPU session, which is why this exists. Prints only; no report file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import quality  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env")
    parser.add_argument("algorithm", choices=["gail", "airl"])
    parser.add_argument("--chunk", type=int, default=20)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    times = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t
        print(f"{name:>14}: {times[name]:6.1f} s", flush=True)
        return out

    _, _, _, trainer = timed("setup", lambda: quality._setup(args.env, args.algorithm, args.overrides))
    keys = jax.random.split(jax.random.PRNGKey(0), 1)
    low = timed("init lower", lambda: quality.init_program(trainer).lower(keys))
    init = timed("init compile", low.compile)
    state = timed("init run", lambda: jax.block_until_ready(init(keys)))
    low = timed("chunk lower", lambda: quality.chunk_program(trainer).lower(state, trainer.demos, args.chunk))
    chunk = timed("chunk compile", low.compile)
    timed("chunk run", lambda: jax.block_until_ready(chunk(state, trainer.demos)))
    print(f"{'start-up':>14}: {sum(v for k, v in times.items() if 'run' not in k):6.1f} s (all but the runs)")
    return times


if __name__ == "__main__":
    main()
