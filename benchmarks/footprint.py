"""Device memory of the GPU configs' programs, known without a GPU: compile (never run) the three programs of
``quality.py --time-limit`` (init, a training chunk, the evaluation) for a config's shapes and read XLA's buffer
assignment (arguments + outputs + temporaries, :func:`aot.footprint_gib`).

    python benchmarks/footprint.py --envs ant halfcheetah --algorithms airl --seeds 3

The CPU compiler's fusion and buffer reuse differ from the GPU's, so a CPU figure is an estimate of the GPU's,
good for its order of magnitude (does a config fit an 80 GB H100?); on a GPU the same command gives the GPU's.
Writes ``benchmarks/results/footprint.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aot  # noqa: E402
import quality  # noqa: E402
import report  # noqa: E402


def footprint_row(env_name, algorithm, seeds, overrides):
    """``{program: GiB}`` of one config's programs for ``seeds`` vmapped seeds, with the seconds it took."""
    t = time.perf_counter()
    _, env, config, trainer, _ = quality._setup(env_name, algorithm, overrides, in_scan_eval=False)
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    programs = quality.build_timed_programs(trainer, keys, config.eval_every)
    row = {k: aot.footprint_gib(c) for k, c in programs.items()}
    row.update(env=env_name, algorithm=algorithm, seeds=seeds, num_envs=env.num_envs, seconds=time.perf_counter() - t)
    return row


def write_report(path, rows, argv):
    lines = report.header("Device memory of the configs' programs (compiled, not run)", "footprint.py", argv) + [
        "- the programs of `quality.py --time-limit` (init, one chunk of `train.eval_every` iterations without "
        "evaluation, the evaluation) for the config's shapes and the seeds vmapped; GiB by XLA's buffer assignment "
        "on this device (arguments + outputs + temporaries, `aot.footprint_gib`); on a CPU an estimate of a GPU's.",
        "",
        "| env | algorithm | seeds | num_envs | init GiB | chunk GiB | eval GiB | seconds to compile |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def gib(v):
        return "—" if v is None else f"{v:.3g}"

    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['env']} | {r['algorithm']} | — | — | skipped: {r['skipped'][:80]} | | | |")
            continue
        lines.append(f"| {r['env']} | {r['algorithm']} | {r['seeds']} | {r['num_envs']} | {gib(r['init'])} | "
                     f"{gib(r['chunk'])} | {gib(r['eval'])} | {r['seconds']:.0f} |")
    report.write(path, lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["ant", "halfcheetah", "hopper", "walker2d"])
    parser.add_argument("--algorithms", nargs="+", choices=["gail", "airl"], default=["airl"])
    parser.add_argument("--seeds", type=int, default=3, help="vmapped seeds (quality.py --preset gpu: 3)")
    parser.add_argument("--output", default=os.path.join(quality.ROOT, "benchmarks", "results", "footprint.md"))
    parser.add_argument("overrides", nargs="*", help="config overrides applied to every config (key=value)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds: expected a positive int, got {args.seeds}")
    rows = []
    for env_name in args.envs:
        for algorithm in args.algorithms:
            try:
                row = footprint_row(env_name, algorithm, args.seeds, args.overrides)
            except (ValueError, FileNotFoundError) as err:
                row = {"env": env_name, "algorithm": algorithm, "skipped": str(err)}
            rows.append(row)
            print(row, flush=True)
            write_report(args.output, rows, argv)


if __name__ == "__main__":
    main()
