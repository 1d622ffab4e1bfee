"""Where a GAIL/AIRL run's start-up time goes: tracing (``lower``) and XLA compilation of its programs.

    python benchmarks/compile_cost.py hopper airl env.num_envs=16 eval.num_envs=4 train.eval_every=20
    python benchmarks/compile_cost.py --separate-eval hopper airl env.num_envs=16 eval.num_envs=4

Builds the run as ``benchmarks/quality.py`` does (``configs/<algorithm>_<env>.yaml``, one seed, vmapped) and
prints seconds for: setup (config, envs, demonstrations), the init program (lower, compile, run) and the
training chunk of ``--chunk`` iterations with its in-scan evaluation (lower, compile, run); with
``--separate-eval``, the three programs of ``quality.py --time-limit`` (init, chunk without evaluation,
evaluation), traced in turn and compiled concurrently. With Brax's generalized
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
    parser.add_argument("--separate-eval", action="store_true",
                        help="the programs of quality.py --time-limit: the chunk without in-scan evaluation and a "
                        "separate evaluation program, all three compiled concurrently")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    if args.chunk < 1:
        parser.error(f"--chunk: expected iterations >= 1, got {args.chunk}")
    times = {}

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t
        print(f"{name:>14}: {times[name]:6.1f} s", flush=True)
        return out

    _, _, _, trainer, _ = timed("setup", lambda: quality._setup(args.env, args.algorithm, args.overrides,
                                                            in_scan_eval=not args.separate_eval))
    keys = jax.random.split(jax.random.PRNGKey(0), 1)
    if args.separate_eval:  # exactly what quality.py --time-limit builds
        t = time.perf_counter()
        programs = quality.build_timed_programs(trainer, keys, args.chunk, times)
        for k in ("init", "chunk", "eval"):
            for step in ("lower", "compile"):
                print(f"{k + ' ' + step:>14}: {times[k + ' ' + step]:6.1f} s", flush=True)
        print(f"{'compile wall':>14}: {times['compile wall']:6.1f} s (the three side by side)")
        startup = time.perf_counter() - t + times["setup"]
        state = timed("init run", lambda: jax.block_until_ready(programs["init"](keys)))
        state = timed("chunk run", lambda: jax.block_until_ready(programs["chunk"](state, trainer.demos))[0])
        timed("eval run", lambda: jax.block_until_ready(programs["eval"](state)))
    else:  # the in-scan evaluation inside the chunk (jaxirl train, quality.py without --time-limit)
        low = timed("init lower", lambda: quality.init_program(trainer).lower(keys))
        init = timed("init compile", low.compile)
        state = timed("init run", lambda: jax.block_until_ready(init(keys)))
        low = timed("chunk lower", lambda: quality.chunk_program(trainer).lower(state, trainer.demos, args.chunk))
        chunk = timed("chunk compile", low.compile)
        timed("chunk run", lambda: jax.block_until_ready(chunk(state, trainer.demos)))
        startup = sum(v for k, v in times.items() if "run" not in k)
    times["start-up"] = startup
    print(f"{'start-up':>14}: {startup:6.1f} s (setup, tracing and compiling)")
    return times


if __name__ == "__main__":
    main()
