"""Benchmark: env-steps/s of ONE GAIL or AIRL run with its environments split over 1, 2, ... devices.

    python benchmarks/devices.py --cpu-devices 2                   # hopper (spring), 128 envs, AIRL, 1 vs 2 devices
    python benchmarks/devices.py --env ant --backend generalized --num-envs 8192 --devices 1 2 4 8   # GPUs

For each device count ``k`` the same run (same config, same initial state) is placed with
``jaxirl.parallel.shard_envs`` over the first ``k`` devices (its envs split, the learning replicated),
compiled ahead of time and timed after compilation; the counts are timed in turn, round after round, and the
best round of each is kept, so slow drifts of the machine hit every count alike. The speed-up is against
1 device measured in the same run. The final metrics of every count are compared with 1 device's (the
placement must not change the result beyond float rounding). ``--cpu-devices N`` makes the CPU show as
``N`` devices (``XLA_FLAGS=--xla_force_host_platform_device_count=N``; each runs on its own thread), which
is how a CPU run can use ``run.devices``. Writes ``benchmarks/results/devices.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="hopper")
    parser.add_argument("--backend", default="spring", help="Brax backend; none for pointmass")
    parser.add_argument("--num-envs", type=int, default=128)
    parser.add_argument("--algorithm", choices=("gail", "airl"), default="airl")
    parser.add_argument("--devices", type=int, nargs="+", help="device counts to time (default: 1 and all)")
    parser.add_argument("--cpu-devices", type=int, help="show the CPU as this many devices (set before JAX starts)")
    parser.add_argument("--unroll", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=8, help="iterations per timed call")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the best of each count is kept")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                         "devices.md"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.cpu_devices:
        if "jax" in sys.modules:
            import jax

            jax.config.update("jax_num_cpu_devices", args.cpu_devices)  # only before the backend starts
        else:
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                       + f" --xla_force_host_platform_device_count={args.cpu_devices}").strip()
    import jax
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import report
    import throughput
    from jaxirl import envs
    from jaxirl.parallel import envs_mesh, shard_envs

    available = jax.devices()
    counts = args.devices or sorted({1, len(available)})
    for k in counts:
        if not 1 <= k <= len(available):
            raise SystemExit(f"--devices: {k} asked for, {len(available)} present (on a CPU: --cpu-devices {k})")
        if args.num_envs % k:
            raise SystemExit(f"--num-envs: {args.num_envs} cannot be split evenly over {k} devices")
    backend = None if args.backend in ("none", "null") else args.backend  # pure-JAX envs (pointmass): none
    env = envs.make(args.env, args.num_envs, backend=backend)
    demos = throughput.random_demos(env, 16 * 1000)  # as throughput.py (same programs: compilation cache hits)
    trainer, state = throughput.adversarial_trainer(args.algorithm, env, demos, args.unroll, args.iterations)
    steps = args.iterations * args.unroll * args.num_envs
    programs = {}
    for k in counts:
        placed = state if k == 1 else shard_envs(state, envs_mesh(available[:k]))
        t = time.perf_counter()
        compiled = jax.jit(trainer._run, static_argnums=2).lower(placed, trainer.demos, args.iterations).compile()
        programs[k] = (compiled, time.perf_counter() - t, placed)
    demos = trainer.demos
    best = {k: float("inf") for k in counts}
    finals = {}
    for k, (compiled, _, placed) in programs.items():  # once untimed: warm up
        finals[k] = jax.device_get(jax.block_until_ready(compiled(placed, demos))[1])
    for _ in range(args.repeats):
        for k, (compiled, _, placed) in programs.items():
            t = time.perf_counter()
            jax.block_until_ready(compiled(placed, demos))
            best[k] = min(best[k], time.perf_counter() - t)
    diffs = {k: max(float(np.max(np.abs(np.asarray(finals[k][m], np.float64) - np.asarray(finals[counts[0]][m], np.float64))))
                    for m in ("disc_loss", "gen_policy_loss", "true_reward_mean")) for k in counts}
    base = steps / best[counts[0]]
    lines = report.header(f"One {args.algorithm.upper()} run with its envs split over devices", "devices.py", argv) + [
        f"- {args.env} ({args.backend}), {args.num_envs} envs, unroll T = {args.unroll}, {args.iterations} iterations "
        "per timed call (PPO 4 epochs × 4 minibatches, 5 discriminator steps of 1024 + 1024 samples); "
        f"`jaxirl.parallel.shard_envs`; best of {args.repeats} rounds, the counts timed in turn.",
        "",
        f"| devices | envs per device | env steps/s | × {counts[0]} device(s) | compile s | max metric difference |",
        "|---|---|---|---|---|---|",
    ]
    for k in counts:
        rate = steps / best[k]
        lines.append(f"| {k} | {args.num_envs // k} | {rate:,.0f} | {rate / base:.2f} | {programs[k][1]:.0f} | "
                     f"{diffs[k]:.1e} |")
    print("\n".join(lines[-len(counts) - 2:]))
    report.write(args.output, lines)
    return {k: steps / best[k] for k in counts}


if __name__ == "__main__":
    main()
