"""Diagnosis: how many sequential line-search trips Brax's generalized contact solver makes per env step.

    python benchmarks/solver_trips.py                          # halfcheetah ant hopper walker2d, random actions
    python benchmarks/solver_trips.py --envs halfcheetah --steps 100 --num-envs 4

Why: on an H200 the generalized halfcheetah trained at ~1/7 of ant's env steps per second, on the 2-core CPU
at ~7x ant's (``results/quality_gpu.md``). Brax's generalized pipeline solves the contact forces at every physics substep
with ``jaxopt.ProjectedGradient`` (``sys.solver_iterations`` outer iterations, each with a backtracking line
search of at most ``sys.solver_maxls`` halvings of the step, restarted from step 1 at every solve). Both are
``lax.while_loop``s, and a ``vmap``-ed while loop runs until its LAST lane is done: a batch of envs pays, at every
substep, the trips of its worst env. On a GPU every trip is a few small dependent kernels, so the trips are
sequential latency that more envs do not share out.

What it does: steps ``--num-envs`` envs with uniform random actions for ``--steps`` steps from reset, takes the
contact problem of each env's last substep (``A = J M^-1 J^T + diag``, ``b = J M^-1 qf_smooth - aref`` from the
pipeline state, exactly what the solver received), and re-solves it with a NumPy replica of jaxopt's accelerated
projected gradient that counts the line-search trips of every outer iteration (the replica's solution equals
jaxopt's: ``tests/test_benchmarks.py``). The batched cost of B envs is estimated by drawing B solves at random
and summing, over the outer iterations, the largest trip count among them. Random actions are not a trained
policy's; the counts are a model of the GPU cost, not a GPU measurement. Writes
``benchmarks/results/solver_trips.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def solve_trips(a, b, maxiter: int, maxls: int, tol: float = 1e-3, decrease: float = 0.5):
    """Solve min_x 0.5 |A x + b|^2 s.t. x >= 0 as jaxopt's ``ProjectedGradient`` (FISTA acceleration, line
    search from step 1, ``maxiter`` iterations, stop when |x_k+1 - x_k| / step <= tol) does, in float32.

    Returns ``(x, trips)``: the solution and the line-search trips (failed sufficient-decrease checks, each one
    halving of the step) of every outer iteration, 0 for iterations not run."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    half = np.float32(0.5)

    def f(x):
        r = a @ x + b
        return half * np.dot(r, r)

    def grad(x):
        return a.T @ (a @ x + b)

    eps = np.finfo(np.float32).eps
    x = np.zeros_like(b)
    y = x.copy()
    t = np.float32(1.0)
    step = np.float32(1.0)
    error = np.inf
    trips = [0] * maxiter
    it = 0
    while it < maxiter and error > tol:
        fy, gy = f(y), grad(y)
        s = step
        nx = np.maximum(y - s * gy, 0)
        k = 0
        while k < maxls:
            d = nx - y
            if not s * (f(nx) - fy) > s * np.dot(d, gy) + half * np.dot(d, d) + eps:
                break
            s = np.float32(s * decrease)
            nx = np.maximum(y - s * gy, 0)
            k += 1
        trips[it] = k
        step = np.float32(1.0) if s <= 1e-6 else np.float32(s / decrease)
        nt = np.float32(0.5 * (1 + np.sqrt(1 + 4 * t * t)))
        dx = nx - x
        y = nx + (t - 1) / nt * dx
        error = float(np.linalg.norm(dx) / step)
        x, t = nx, nt
        it += 1
    return x, trips


def batched_trips(trips: np.ndarray, batch: int, draws: int = 200, seed: int = 0) -> float:
    """Mean trips of a vmapped solve over ``batch`` envs: each outer iteration's loop runs its worst lane's."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(trips), size=(draws, batch))
    return float(trips[idx].max(axis=1).sum(axis=1).mean())


def measure(name: str, steps: int, num_envs: int, batches, seed: int = 0) -> dict:
    import jax
    from brax import envs as brax_envs

    env = brax_envs.get_environment(name, backend="generalized")
    maxiter, maxls = int(env.sys.solver_iterations), int(env.sys.solver_maxls)
    reset = jax.jit(jax.vmap(env.reset))
    step = jax.jit(jax.vmap(env.step))
    key = jax.random.PRNGKey(seed)
    key, k = jax.random.split(key)
    state = reset(jax.random.split(k, num_envs))
    per_solve, lipschitz = [], []
    for _ in range(steps):
        key, k = jax.random.split(key)
        state = step(state, jax.random.uniform(k, (num_envs, env.action_size), minval=-1.0, maxval=1.0))
        ps = jax.device_get(state.pipeline_state)
        for e in range(num_envs):
            jac, minv = np.asarray(ps.con_jac[e]), np.asarray(ps.mass_mx_inv[e])
            a = jac @ minv @ jac.T + np.diag(ps.con_diag[e])
            b = jac @ minv @ ps.qf_smooth[e] - ps.con_aref[e]
            per_solve.append(solve_trips(a, b, maxiter, maxls)[1])
            lipschitz.append(np.linalg.eigvalsh(a.astype(np.float64)).max() ** 2)  # of the objective's gradient
    trips = np.asarray(per_solve)
    total = trips.sum(axis=1)
    substeps = int(env._n_frames)
    return {
        "env": name, "substeps": substeps, "maxiter": maxiter, "maxls": maxls, "rows": int(jac.shape[0]),
        "solves": len(trips), "mean": float(total.mean()), "p90": float(np.percentile(total, 90)),
        "max": int(total.max()), "at_cap": float(np.mean((trips >= maxls).any(axis=1))),
        "l_median": float(np.median(lipschitz)), "l_max": float(np.max(lipschitz)),
        "batched": {n: batched_trips(trips, n) for n in batches},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["halfcheetah", "ant", "hopper", "walker2d"])
    parser.add_argument("--steps", type=int, default=200, help="env steps from reset, random actions")
    parser.add_argument("--num-envs", type=int, default=4, help="envs stepped (solves per step)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 384, 2048, 6144],
                        help="vmapped batch sizes to model (384: 3 seeds x 128 evaluation envs)")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                         "solver_trips.md"))
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import report
    from jaxirl.envs import BRAX_ENVS

    unknown = [name for name in args.envs if name not in BRAX_ENVS]
    if unknown:
        parser.error(f"--envs: unknown Brax env(s) {unknown}; expected some of {list(BRAX_ENVS)}")
    for flag, values in (("--steps", [args.steps]), ("--num-envs", [args.num_envs]), ("--batch-sizes", args.batch_sizes)):
        if any(v < 1 for v in values):
            parser.error(f"{flag}: expected positive ints, got {values}")

    rows = [measure(name, args.steps, args.num_envs, args.batch_sizes) for name in args.envs]
    bs = args.batch_sizes
    lines = report.header("Contact-solver line-search trips per env step (Brax generalized)", "solver_trips.py",
                          argv) + [
        "",
        f"- {args.num_envs} envs x {args.steps} steps from reset, uniform random actions; one solve per env step "
        "(its last substep's), re-solved by a NumPy replica of jaxopt's ProjectedGradient that counts the trips.",
        "- trips: failed sufficient-decrease checks of the line search (each one halving of the step), summed over "
        "the solver's outer iterations; 'at the cap': solves with an outer iteration that used all `maxls`.",
        "- batched: the trips of one vmapped solve over B envs (each outer iteration runs its worst env's); x "
        "substeps = sequential trips per env step.",
        "",
        "| env | substeps | solver iterations | maxls | constraint rows | trips per solve: mean | p90 | max | at the cap | "
        "L = λmax(A)²: median | max | " + " | ".join(f"batched, B = {n} (per env step)" for n in bs) + " |",
        "|" + "---|" * (11 + len(bs)),
    ]
    for r in rows:
        lines.append(
            f"| {r['env']} | {r['substeps']} | {r['maxiter']} | {r['maxls']} | {r['rows']} | {r['mean']:.1f} | "
            f"{r['p90']:.0f} | {r['max']} | {r['at_cap']:.3f} | {r['l_median']:.3g} | {r['l_max']:.3g} | "
            + " | ".join(f"{r['batched'][n]:.1f} ({r['batched'][n] * r['substeps']:.0f})" for n in bs) + " |")
    print("\n".join(lines[-len(rows) - 2:]))
    report.write(args.output, lines)
    return rows


if __name__ == "__main__":
    main()
