"""Benchmark: what a Brax env's reset costs next to its step — the price of `VecEnv`'s auto-reset.

    python benchmarks/reset_cost.py                       # ant halfcheetah hopper walker2d, generalized, 64 envs
    python benchmarks/reset_cost.py --envs ant --num-envs 2048 --backend generalized

`jaxirl.envs.VecEnv.step` resets ALL its envs (one vmapped `reset`, then a per-env select) whenever ANY env's
episode ends; with thousands of envs, staggered time limits or falling robots, some env ends at almost every step
(at 2048 envs and 1000-step episodes, 87 % of steps even without falls), so a step nearly always pays one batched
reset on top of the physics. This times the two jitted, vmapped functions alone, interleaved (median of the
rounds), and reports the ratio reset / step: the most the auto-reset can add to a step.
Writes ``benchmarks/results/reset_cost.md`` (``--output``) with the device, date and command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import report  # noqa: E402


def _seconds(fn, *args) -> float:
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t


def measure(name: str, backend: str, num_envs: int, rounds: int) -> dict:
    from brax import envs as brax_envs

    env = brax_envs.get_environment(name, backend=backend)
    reset = jax.jit(jax.vmap(env.reset))
    step = jax.jit(jax.vmap(env.step))
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    state = reset(keys)
    action = jax.random.uniform(jax.random.PRNGKey(1), (num_envs, env.action_size), minval=-1.0, maxval=1.0)
    jax.block_until_ready(step(state, action))  # compile both before timing
    t_reset, t_step = [], []
    for _ in range(rounds):  # interleaved, so a busy machine slows both alike
        t_reset.append(_seconds(reset, keys))
        t_step.append(_seconds(step, state, action))
    r, s = float(np.median(t_reset)), float(np.median(t_step))
    return dict(env=name, reset_ms=1e3 * r, step_ms=1e3 * s, ratio=r / s)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--envs", nargs="+", default=["ant", "halfcheetah", "hopper", "walker2d"])
    ap.add_argument("--backend", default="generalized")
    ap.add_argument("--num-envs", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "reset_cost.md"))
    args = ap.parse_args(argv)
    rows = []
    for name in args.envs:
        row = measure(name, args.backend, args.num_envs, args.rounds)
        rows.append(row)
        print(f"{name}: reset {row['reset_ms']:.2f} ms, step {row['step_ms']:.2f} ms, reset/step {row['ratio']:.3f}",
              flush=True)
    lines = report.header("Reset cost of Brax envs next to their step (the auto-reset's price)", "reset_cost.py",
                          argv)
    lines += [f"- {args.num_envs} envs, backend `{args.backend}`; jitted `vmap(env.reset)` and `vmap(env.step)` "
              f"(random actions), timed interleaved, median of {args.rounds} rounds", "",
              "| env | reset ms | step ms | reset / step |", "|---|---|---|---|"]
    lines += [f"| {r['env']} | {r['reset_ms']:.4g} | {r['step_ms']:.4g} | {r['ratio']:.3f} |" for r in rows]
    report.write(args.output, lines)


if __name__ == "__main__":
    main()
