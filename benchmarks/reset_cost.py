"""Benchmark: what a Brax env's reset costs next to its step — the price of `VecEnv`'s auto-reset.

    python benchmarks/reset_cost.py                       # ant halfcheetah hopper walker2d, generalized, 64 envs
    python benchmarks/reset_cost.py --envs ant --num-envs 2048 --backend generalized

By default (``reset_pool=0``) `jaxirl.envs.VecEnv.step` resets ALL its envs (one vmapped `reset`, then a per-env
select) whenever ANY env's episode ends; with thousands of envs, staggered time limits or falling robots, some env ends at almost every step
(at 2048 envs and 1000-step episodes, 87 % of steps even without falls), so a step nearly always pays one batched
reset on top of the physics. This times the two jitted, vmapped functions alone, interleaved (median of the
rounds), and reports the ratio reset / step: the most the auto-reset can add to a step.

Then it times what the reset pool saves (``VecEnv(reset_pool=M)``, ``env.reset_pool`` in a config): the same
rollout program — ``--iterations`` rollouts of ``--unroll`` ``VecEnv`` steps with uniform random actions, from
staggered time limits (``episode_length`` 1000), each rollout starting with ``refill`` as the package's rollouts do,
observations kept live in a sum — once with the per-step batched reset (``reset_pool=0``) and once with a pool of
``num_envs`` states, interleaved, best of the rounds. Its columns: the share of steps in which some env ended (the
steps that pay a reset without a pool), both times per rollout, and their ratio (the pool's speed-up of bare
stepping; a training iteration, whose updates do not change, gains less).
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
sys.path.insert(0, ROOT)

import report  # noqa: E402
import throughput  # noqa: E402


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


def _rollouts(env, unroll: int, iterations: int):
    """``(compiled, state)``: ``throughput.py``'s bare stepping (``iterations`` rollouts of ``unroll`` random-action
    steps, ``refill`` first; returning the state, a sum of the observations and the steps in which some env ended),
    from staggered time limits."""
    lowered, (state, _), _ = throughput.prepare_bare(env, unroll, iterations, stagger=True)
    return lowered.compile(), state


def measure_pool(name: str, backend: str, num_envs: int, unroll: int, iterations: int, rounds: int) -> dict:
    """Bare stepping with the per-step batched reset against a reset pool of ``num_envs`` states."""
    from jaxirl.envs import make

    plain = make(name, num_envs, episode_length=1000, backend=backend)
    pooled = plain.with_reset_pool(num_envs)
    runs = [_rollouts(env, unroll, iterations) for env in (plain, pooled)]
    times = [[], []]
    ended = 0
    for r in range(rounds):  # interleaved, best of the rounds
        for i, (compiled, state) in enumerate(runs):
            t = time.perf_counter()
            out = jax.block_until_ready(compiled(state, jax.random.key(r)))
            times[i].append(time.perf_counter() - t)
            if i == 0:
                ended = max(ended, int(out[2]))
    a, b = min(times[0]), min(times[1])
    return dict(ended=ended / (unroll * iterations), plain_ms=1e3 * a / iterations, pool_ms=1e3 * b / iterations,
                speedup=a / b)


def write_report(args, rows, argv) -> None:
    lines = report.header("Reset cost of Brax envs next to their step (the auto-reset's price)", "reset_cost.py",
                          argv)
    lines += [f"- {args.num_envs} envs, backend `{args.backend}`; jitted `vmap(env.reset)` and `vmap(env.step)` "
              f"(random actions), timed interleaved, median of {args.rounds} rounds"]
    if args.pool_rounds > 0:
        lines += [f"- reset pool: {args.iterations} rollouts of {args.unroll} `VecEnv` steps (random actions, "
                  f"staggered time limits of 1000, `refill` before each) with a batched reset in every step where an env ends "
                  f"(`reset_pool=0`) and with a pool of {args.num_envs} states; interleaved, best of "
                  f"{args.pool_rounds} rounds; ms per rollout"]
    lines += ["", "| env | reset ms | step ms | reset / step | steps with an end | rollout ms, per-step resets | "
                  "rollout ms, pool | pool speed-up |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pool = (f"{100 * r['ended']:.0f} % | {r['plain_ms']:.4g} | {r['pool_ms']:.4g} | {r['speedup']:.3f}"
                if "speedup" in r else "— | — | — | —")
        lines.append(f"| {r['env']} | {r['reset_ms']:.4g} | {r['step_ms']:.4g} | {r['ratio']:.3f} | {pool} |")
    report.write(args.output, lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--envs", nargs="+", default=["ant", "halfcheetah", "hopper", "walker2d"])
    ap.add_argument("--backend", default="generalized")
    ap.add_argument("--num-envs", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--unroll", type=int, default=32, help="steps per rollout (the pool is refilled once per rollout)")
    ap.add_argument("--iterations", type=int, default=4, help="rollouts per timed call")
    ap.add_argument("--pool-rounds", type=int, default=5, help="timed calls of each rollout program (0: skip the pool)")
    ap.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "reset_cost.md"))
    args = ap.parse_args(argv)
    rows = []
    for name in args.envs:
        row = measure(name, args.backend, args.num_envs, args.rounds)
        print(f"{name}: reset {row['reset_ms']:.2f} ms, step {row['step_ms']:.2f} ms, reset/step {row['ratio']:.3f}",
              flush=True)
        if args.pool_rounds > 0:
            row.update(measure_pool(name, args.backend, args.num_envs, args.unroll, args.iterations, args.pool_rounds))
            print(f"{name}: a rollout of {args.unroll} steps {row['plain_ms']:.1f} ms with per-step resets, "
                  f"{row['pool_ms']:.1f} ms with a pool (x{row['speedup']:.3f}); some env ended in "
                  f"{100 * row['ended']:.0f} % of the steps", flush=True)
        rows.append(row)
        write_report(args, rows, argv)  # after every row: a cut-off run keeps its rows


if __name__ == "__main__":
    main()
