"""Benchmark: env-steps/s of ONE GAIL or AIRL run with its environments split over 1, 2, ... devices.

    python benchmarks/devices.py --cpu-devices 2                   # hopper (spring), 128 envs, AIRL, 1 vs 2 devices
    python benchmarks/devices.py --env ant --backend generalized --num-envs 8192 --devices 1 2 4 8   # GPUs

For each device count ``k`` the same run (same config, same initial state) is placed with
``jaxirl.parallel.shard_envs`` over the first ``k`` devices (its envs split), with the PPO epochs repeated
on every device (``ppo.shuffle_groups=1``) and, for ``k > 1``, split among them (``shuffle_groups=k``, next
to the same run on 1 device); each program is compiled ahead of time and timed after compilation, the cases
in turn, round after round, the best round of each kept, so slow drifts of the machine hit every case
alike. Speed-ups are against 1 device with ``shuffle_groups=1``, measured in the same run. Every case's
metrics are compared with 1 device's with the same ``shuffle_groups`` (the placement must not change the
result beyond float rounding). ``--cpu-devices N`` makes the CPU show as
``N`` devices (``jax_num_cpu_devices``, as ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` does for
``jaxirl train``; each runs on its own thread), which is how a CPU run can use ``run.devices``. Writes ``benchmarks/results/devices.md`` (``--output``).
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
    parser.add_argument("--devices", type=int, nargs="+", help="device counts to time besides 1 (default: all)")
    parser.add_argument("--cpu-devices", type=int, help="show the CPU as this many devices (set before JAX starts)")
    parser.add_argument("--unroll", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=8, help="iterations per timed call")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the best of each count is kept")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                         "devices.md"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    import jax
    import numpy as np

    if args.cpu_devices:
        jax.config.update("jax_num_cpu_devices", args.cpu_devices)  # before anything starts the backend

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import report
    import throughput
    from jaxirl import envs
    from jaxirl.parallel import envs_mesh, shard_envs

    available = jax.devices()
    counts = sorted({1, *(args.devices or [len(available)])})  # every ratio is to 1 device: always time it
    for k in counts:
        if not 1 <= k <= len(available):
            raise SystemExit(f"--devices: {k} asked for, {len(available)} present (on a CPU: --cpu-devices {k})")
        if args.num_envs % k:
            raise SystemExit(f"--num-envs: {args.num_envs} cannot be split evenly over {k} devices")
    backend = None if args.backend in ("none", "null") else args.backend  # pure-JAX envs (pointmass): none
    env = envs.make(args.env, args.num_envs, backend=backend)
    demos = throughput.random_demos(env, 16 * 1000)  # as throughput.py (same programs: compilation cache hits)
    steps = args.iterations * args.unroll * args.num_envs
    # (devices, ppo.shuffle_groups): every count with the PPO epochs repeated on each device (groups 1), and
    # each count k > 1 also with them split (groups k), next to 1 device with groups k (the same run)
    cases = [(k, 1) for k in counts] + [(d, k) for k in counts if k > 1 for d in (1, k)]
    trainers, programs = {}, {}
    for k, g in cases:
        if g not in trainers:
            trainers[g] = throughput.adversarial_trainer(args.algorithm, env, demos, args.unroll, args.iterations, g)
        trainer, state = trainers[g]
        placed = state if k == 1 else shard_envs(state, envs_mesh(available[:k]))
        t = time.perf_counter()
        compiled = jax.jit(trainer._run, static_argnums=2).lower(placed, trainer.demos, args.iterations).compile()
        programs[k, g] = (compiled, time.perf_counter() - t, placed, trainer.demos)
    best = {c: float("inf") for c in cases}
    finals = {}
    for c, (compiled, _, placed, demos) in programs.items():  # once untimed: warm up
        finals[c] = jax.device_get(jax.block_until_ready(compiled(placed, demos))[1])
    for _ in range(args.repeats):
        for c, (compiled, _, placed, demos) in programs.items():
            t = time.perf_counter()
            jax.block_until_ready(compiled(placed, demos))
            best[c] = min(best[c], time.perf_counter() - t)
    keys = ("disc_loss", "gen_policy_loss", "true_reward_mean")
    diffs = {(k, g): max(float(np.max(np.abs(np.asarray(finals[k, g][m], np.float64)
                                             - np.asarray(finals[1, g][m], np.float64)))) for m in keys)
             for k, g in cases}
    base = steps / best[1, 1]
    lines = report.header(f"One {args.algorithm.upper()} run with its envs split over devices", "devices.py", argv) + [
        f"- {args.env} ({args.backend}), {args.num_envs} envs, unroll T = {args.unroll}, {args.iterations} iterations "
        "per timed call (PPO 4 epochs × 4 minibatches, 5 discriminator steps of 1024 + 1024 samples); "
        f"`jaxirl.parallel.shard_envs`; best of {args.repeats} rounds, the cases timed in turn.",
        "- `ppo.shuffle_groups` 1: the PPO epochs are repeated whole on every device; k: each minibatch is drawn in "
        "equal parts from k blocks of envs, so with k devices each device trains on its own envs' part.",
        "- metric difference: the largest absolute difference of discriminator loss, PPO policy loss and true reward "
        "over the timed iterations against 1 device with the same `shuffle_groups` (the same run).",
        "",
        "| devices | ppo.shuffle_groups | envs per device | env steps/s | × 1 device, groups 1 | compile s | metric difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, g in cases:
        rate = steps / best[k, g]
        lines.append(f"| {k} | {g} | {args.num_envs // k} | {rate:,.0f} | {rate / base:.2f} | {programs[k, g][1]:.0f} | "
                     f"{diffs[k, g]:.1e} |")
    print("\n".join(lines[-len(cases) - 2:]))
    report.write(args.output, lines)
    return {c: steps / best[c] for c in cases}


if __name__ == "__main__":
    main()
