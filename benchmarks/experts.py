"""Train the Brax PPO experts side by side on one GPU and record their demonstrations.

    python benchmarks/experts.py --out demos                   # hopper walker2d halfcheetah ant
    python benchmarks/experts.py --out demos --envs hopper train.time_limit_s=300
    python benchmarks/experts.py --out demos --envs hopper --resume train.time_limit_s=300   # train on

Each environment is one ``jaxirl expert configs/expert_<env>.yaml`` process (they share the GPU;
``XLA_PYTHON_CLIENT_MEM_FRACTION`` is set so they fit together), so their compilations overlap.  The
demonstrations go to ``OUT/<env>.npz``; the report (expert return of the recorded episodes,
deterministic / stochastic evaluation returns, random return, env steps, wall-clock, best seed / swept
value) to ``--output``, with each expert's learning curve subsampled.  Publication-strength targets from
the issue (episode length 1000, generalized backend): hopper ≥ 2000, walker2d ≥ 2000, halfcheetah ≥ 4000,
ant ≥ 5000.

``--resume`` continues each env's newest run folder in ``--runs`` (``expert-<env>-*`` with a checkpoint) from
its last checkpoint instead of starting a new one (``jaxirl expert RUN/config.yaml resume=RUN``; bit-identical
to an uninterrupted run): on a GPU lent for 10-minute calls, a second call on the still-warm machine trains the
same expert on.  Overrides then may only change what ``jaxirl expert`` lets a resumption change
(``train.time_limit_s``, ``train.num_updates``, ``demos.*``, ``eval.*``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import report  # noqa: E402

TARGETS = {"hopper": 2000.0, "walker2d": 2000.0, "halfcheetah": 4000.0, "ant": 5000.0}


def latest_run(runs: str, name: str) -> str:
    """The newest ``expert-<name>-<stamp>`` folder in ``runs`` that has a checkpoint (SystemExit if none)."""
    found = sorted(d for d in os.listdir(runs) if d.startswith(f"expert-{name}-")
                   and os.path.isdir(os.path.join(runs, d, "checkpoints")))
    if not found:
        raise SystemExit(f"--resume: no run folder expert-{name}-* with checkpoints in {runs!r}")
    return os.path.join(runs, found[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=list(TARGETS))
    parser.add_argument("--out", default=os.path.join(ROOT, "demos"), help="folder for <env>.npz")
    parser.add_argument("--runs", default=os.path.join(ROOT, "runs"), help="folder for the run folders")
    parser.add_argument("--mem-fraction", type=float, default=0.2)
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "experts.md"))
    parser.add_argument("--resume", action="store_true",
                        help="continue each env's newest run in --runs from its last checkpoint")
    parser.add_argument("overrides", nargs="*", help="config overrides applied to every expert (key=value)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.runs, exist_ok=True)
    env = dict(os.environ, XLA_PYTHON_CLIENT_MEM_FRACTION=str(args.mem_fraction), PYTHONUNBUFFERED="1")
    procs = {}
    start = time.time()
    for name in args.envs:
        if args.resume:
            run = latest_run(args.runs, name)
            head = [os.path.join(run, "config.yaml"), f"resume={run}"]
        else:
            head = [os.path.join(ROOT, "configs", f"expert_{name}.yaml"), f"run.root={args.runs}",
                     f"run.prefix=expert-{name}"]
        cmd = [sys.executable, "-m", "jaxirl.cli", "expert", *head, "run.progress=false",
               f"demos.path={os.path.join(args.out, name + '.npz')}", *args.overrides]
        log = open(os.path.join(args.runs, f"expert-{name}.log"), "a" if args.resume else "w")
        procs[name] = (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env), log)
    outputs = {}
    for name, (proc, log) in procs.items():
        out, _ = proc.communicate()
        log.write(out)
        log.close()
        outputs[name] = (proc.returncode, out)
        print(f"== {name}: exit {proc.returncode} after {time.time() - start:.0f} s\n{out[-3000:]}", flush=True)

    lines = report.header("Brax PPO experts (demonstrations in demos/)", "experts.py", argv)
    lines += ["", f"All experts trained at the same time on the one device (separate processes sharing it); total "
              f"wall-clock {time.time() - start:.0f} s.", "",
              "| env | target | demo return (mean ± std, episodes) | deterministic | stochastic | random | env steps | "
              "train s (incl. compile) | seeds / best / swept |",
              "|---|---|---|---|---|---|---|---|---|"]
    curves = []
    for name in args.envs:
        code, out = outputs[name]
        try:
            summary = json.loads(out[out.index("{"):out.rindex("}") + 1])
        except ValueError:
            lines.append(f"| {name} | {TARGETS.get(name, '')} | FAILED (exit {code}) | | | | | | |")
            continue
        lines.append(
            f"| {name} | {TARGETS.get(name, '')} | {summary['expert_return']:.0f} ± {summary['expert_return_std']:.0f} "
            f"({summary['num_episodes']} ep.) | "
            f"{summary['return_deterministic']:.0f} | {summary['return_stochastic']:.0f} | {summary['random_return']:.0f} | "
            f"{summary['env_steps'] / 1e6:.1f} M | {summary['train_seconds']:.0f} (first chunk {summary['first_chunk_seconds']:.0f}) | "
            f"{summary['num_seeds']} / {summary['best_seed']} / {summary['sweep'] or '-'}"
            + (f" (resumed at update {summary['resumed_from']})" if summary.get("resumed_from") is not None else "")
            + " |")
        metrics = os.path.join(summary["run_dir"], "metrics.jsonl")
        if os.path.exists(metrics):
            with open(metrics) as f:
                records = [json.loads(line) for line in f]
            step = max(1, len(records) // 12)
            points = ", ".join(f"{r['env_steps'] / 1e6:.0f}M@{r['wall_s']:.0f}s: {r['episode_return']:.0f}"
                               for r in records[::step] + records[-1:])
            curves.append(f"- {name} (training episode return, mean over seeds): {points}")
    lines += ["", "Learning curves (env steps @ wall-clock: return):", "", *curves]
    print("\n".join(lines))
    report.write(args.output, lines)


if __name__ == "__main__":
    main()
