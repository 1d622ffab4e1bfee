"""Benchmark: JAX vs plain NumPy soft value iteration and MaxEnt IRL on gridworlds.

    python benchmarks/tabular.py [--sizes 16 32 64 128] [--steps 200] [--numpy-steps 20] [--output PATH]

Problem: the slippery gridworld (slip 0.1, γ = 0.9, infinite horizon, goal-corner reward), sparse
transitions (K = 5). Soft VI runs to the relative tolerance 1e-6; MaxEnt IRL (tabular reward, gradient
descent lr 0.01, exact expert visitation of the soft-optimal policy) runs ``--steps`` steps in JAX as one compiled
scan and ``--numpy-steps`` steps in NumPy (per-step times are compared; the NumPy reward after
``--numpy-steps`` steps is checked against the JAX reward history at that step). JAX is timed after
ahead-of-time compilation (``jax.jit(f).lower(...).compile()``), best of ``--repeats``. Runs unchanged on
CPU or GPU; writes a Markdown table with the device, date and command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy_reference as ref  # noqa: E402
import report  # noqa: E402

from jaxirl.tabular.builders import gridworld  # noqa: E402
from jaxirl.tabular.maxent import maxent_irl  # noqa: E402
from jaxirl.tabular.soft_vi import soft_value_iteration  # noqa: E402
from jaxirl.tabular.visitation import visitation  # noqa: E402


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t)
    return min(times), out


LR = 0.01  # the loss Hessian is a covariance of visitation counts, ‖·‖ ≤ (1/(1−γ))² = 100: stable for lr < 0.02


def bench_size(size, steps, numpy_steps, repeats):
    problem = gridworld(size, slip=0.1, discount=0.9, features="coords")
    mdp, reward = problem.mdp, problem.reward
    T, nxt = np.asarray(mdp.transition, np.float64), np.asarray(mdp.next_states)
    p0, gamma = np.asarray(mdp.initial, np.float64), 0.9
    row = {"size": size, "states": size * size}

    # --- soft value iteration
    vi = jax.jit(lambda m, r: soft_value_iteration(m, r).v).lower(mdp, reward).compile()
    row["vi_jax"], v_jax = _best(lambda: vi(mdp, reward), repeats)
    r64 = np.asarray(reward, np.float64)
    row["vi_numpy"], (v_np, *_) = _best(lambda: ref.soft_value_iteration(T, nxt, r64, gamma), repeats)
    np.testing.assert_allclose(np.asarray(v_jax), v_np, rtol=1e-4, atol=1e-4)
    # The JAX backup uses that a gridworld's K successors are the same for every action (detected by
    # TabularMDP); for transparency, NumPy with the same (S, 1, K) successor layout (broadcast over actions):
    assert mdp.shared_successors and np.all(nxt == nxt[:, :1, :])
    row["vi_numpy_shared"], (v_np2, *_) = _best(lambda: ref.soft_value_iteration(T, nxt[:, :1, :], r64, gamma), repeats)
    np.testing.assert_allclose(v_np2, v_np, rtol=1e-9, atol=1e-9)

    # --- MaxEnt IRL with the exact expert visitation of the soft-optimal policy for 5 x reward
    expert = soft_value_iteration(mdp, 5.0 * reward).policy
    mu_e = visitation(mdp, expert).discounted_state_action.sum(-1)
    run = jax.jit(
        lambda m, mu: maxent_irl(m, problem.features, mu, jax.random.key(0), model="tabular", num_steps=steps,
                                 learning_rate=LR, optimizer="sgd", log_every=numpy_steps)
    ).lower(mdp, mu_e).compile()
    row["irl_jax"], res = _best(lambda: run(mdp, mu_e), repeats)
    # the per-step comparison over the same first steps as NumPy's (later steps take more inner iterations)
    first = jax.jit(
        lambda m, mu: maxent_irl(m, problem.features, mu, jax.random.key(0), model="tabular", num_steps=numpy_steps,
                                 learning_rate=LR, optimizer="sgd", log_every=numpy_steps)
    ).lower(mdp, mu_e).compile()
    row["irl_jax_first"], _ = _best(lambda: first(mdp, mu_e), repeats)
    row["irl_numpy"], (r_np, loss_np) = _best(
        lambda: ref.maxent_irl(T, nxt, p0, gamma, np.asarray(mu_e, np.float64), numpy_steps, LR,
                                optimizer="sgd"), 1)
    row["irl_numpy_per_step"] = row["irl_numpy"] / numpy_steps
    row["irl_jax_per_step"] = row["irl_jax_first"] / numpy_steps
    np.testing.assert_allclose(np.asarray(res.loss[:numpy_steps]), loss_np, rtol=1e-3, atol=1e-3)
    # plain gradient descent (Adam would turn float32 round-off in near-zero gradient entries into
    # lr-sized steps, so float32 and float64 runs would drift apart coordinate-wise)
    np.testing.assert_allclose(np.asarray(res.reward_history[0]), r_np, atol=1e-3 * max(1.0, np.abs(r_np).max()))
    # the gradient ingredient, the expected visitation of a soft policy, agrees to float32 accuracy
    _, _, pi_np, _ = ref.soft_value_iteration(T, nxt, r_np, gamma)
    d_np = ref.discounted_visitation(T, nxt, p0, pi_np, gamma)
    d_jax = visitation(mdp, soft_value_iteration(mdp, jnp.asarray(r_np, jnp.float32)).policy).discounted
    np.testing.assert_allclose(np.asarray(d_jax), d_np, rtol=1e-3, atol=1e-4 * d_np.max())
    row["final_loss"] = float(res.loss[-1])
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--numpy-steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "tabular.md"))
    args = parser.parse_args(argv)
    if args.steps % args.numpy_steps:
        parser.error("--numpy-steps must divide --steps")
    rows = []
    for size in args.sizes:
        row = bench_size(size, args.steps, args.numpy_steps, args.repeats)
        rows.append(row)
        print(f"{size:4d}x{size:<4d} soft VI jax {row['vi_jax'] * 1e3:9.2f} ms  numpy {row['vi_numpy'] * 1e3:9.2f} ms"
              f"  ({row['vi_numpy'] / row['vi_jax']:6.1f}x; shared-successor numpy {row['vi_numpy_shared'] * 1e3:8.2f} ms,"
              f" {row['vi_numpy_shared'] / row['vi_jax']:5.1f}x) | MaxEnt {args.steps} steps jax {row['irl_jax']:8.3f} s"
              f"  per step jax {row['irl_jax_per_step'] * 1e3:8.2f} ms numpy {row['irl_numpy_per_step'] * 1e3:8.2f} ms"
              f"  ({row['irl_numpy_per_step'] / row['irl_jax_per_step']:6.1f}x)", flush=True)

    lines = report.header("Tabular benchmark: JAX vs NumPy", "tabular.py", argv) + [
        f"- numpy {np.__version__}",
        "- problem: gridworld, slip 0.1, γ 0.9, infinite horizon, sparse transitions; soft VI to rel. tol 1e-6; "
        f"MaxEnt IRL tabular reward, gradient descent lr {LR}, {args.steps} JAX steps (one compiled scan), "
        f"{args.numpy_steps} NumPy steps (float64); the per-step columns time the same first {args.numpy_steps} steps "
        f"in both (JAX: a second compiled scan of that length); JAX times after AOT compilation, best of {args.repeats} "
        f"(NumPy soft VI also best of {args.repeats}, NumPy MaxEnt one run). The JAX sparse operators gather/scatter once "
        "per (state, successor slot) because the gridworld's successor sets are shared by all actions "
        "(`TabularMDP.shared_successors`); the plain NumPy reference gathers per (state, action, slot), and the "
        "'shared successors' column gives NumPy the same layout. "
        "Results agree (asserted: soft values, per-step losses, the visitation of a soft policy, reward after the NumPy steps).",
        "",
        "| grid | states | soft VI jax (ms) | soft VI numpy (ms) | ratio | soft VI numpy, shared successors (ms) | ratio "
        "| MaxEnt jax total (s) | MaxEnt jax / step (ms) | MaxEnt numpy / step (ms) | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']}×{r['size']} | {r['states']} | {r['vi_jax'] * 1e3:.2f} | {r['vi_numpy'] * 1e3:.2f} | "
            f"{r['vi_numpy'] / r['vi_jax']:.1f}× | {r['vi_numpy_shared'] * 1e3:.2f} | {r['vi_numpy_shared'] / r['vi_jax']:.1f}× | "
            f"{r['irl_jax']:.3f} | {r['irl_jax_per_step'] * 1e3:.2f} | "
            f"{r['irl_numpy_per_step'] * 1e3:.2f} | {r['irl_numpy_per_step'] / r['irl_jax_per_step']:.1f}× |"
        )
    report.write(args.output, lines)
    return rows


if __name__ == "__main__":
    main()
