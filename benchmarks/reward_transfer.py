"""Benchmark: reward transfer — PPO trained from scratch on a learned reward, scored on the true one.

    python benchmarks/reward_transfer.py                                      # pointmass: AIRL, GAIL, AIRL + BC
    python benchmarks/reward_transfer.py --seeds 3 --env-kwargs "{max_speed: 1.0}"   # under changed dynamics

For every source (a ``jaxirl train`` run: ``configs/<algorithm>_<env>.yaml`` plus the source's overrides) the script
trains the reward once, then runs ``jaxirl expert configs/expert_<env>.yaml train.reward_run=RUN_DIR`` for
``--seeds`` seeds — PPO that never sees the true reward (Fu et al. 2018's re-optimisation test) — and, as the upper
bound, the same PPO on the true reward with the same seeds. "relative" = (R − R_random) / (R_true − R_random) with the
same seed's true-reward run (1: as good as PPO on the true reward). ``--env-kwargs`` changes the dynamics of the
transfer runs only (the rewards are learned from the shipped demonstrations, made under the default dynamics).
Writes ``benchmarks/results/reward_transfer_<env>.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import report  # noqa: E402

# name: (algorithm, overrides of the train run)
SOURCES = {
    "airl": ("airl", []),
    "gail": ("gail", []),
    "airl_bc": ("airl", ["bc.steps=2000", "bc.coef=1.0"]),
}


def learn_reward(env: str, algorithm: str, overrides, root: str) -> dict:
    """One ``jaxirl train`` run; its summary (``run_dir``, ``score_det``...)."""
    from jaxirl.jobs import train

    return train.main(os.path.join(ROOT, "configs", f"{algorithm}_{env}.yaml"),
                      [f"run.root={root}", "run.progress=false", *overrides])


def transfer(env: str, seed: int, reward_run, overrides, root: str) -> dict:
    """One ``jaxirl expert`` run on the learned reward of ``reward_run`` (None: the true reward)."""
    from jaxirl.jobs import expert

    extra = [] if reward_run is None else [f"train.reward_run={reward_run}"]
    return expert.main(os.path.join(ROOT, "configs", f"expert_{env}.yaml"),
                       [f"run.root={root}", "run.progress=false", f"train.seed={seed}", "demos.num_episodes=4",
                        "demos.num_envs=4", *extra, *overrides])


def _check_overrides(env: str, sources, train_overrides, transfer_overrides) -> None:
    """Every run's config, checked before anything trains (a bad key fails in seconds, not after the first runs)."""
    from jaxirl.config import load_config
    from jaxirl.jobs import expert, train

    for name in sources:
        algorithm, extra = SOURCES[name]
        cfg = load_config(os.path.join(ROOT, "configs", f"{algorithm}_{env}.yaml"), [*extra, *train_overrides],
                          train.defaults())
        train._check(cfg)
        train._train_config(cfg)
    expert._check(load_config(os.path.join(ROOT, "configs", f"expert_{env}.yaml"), transfer_overrides,
                              expert.defaults()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="pointmass", help="config stem: configs/{airl,gail,expert}_<env>.yaml")
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--env-kwargs", default=None, help="YAML mapping: the transfer runs' env.kwargs")
    parser.add_argument("--train-overrides", nargs="*", default=[], help="key=value for every jaxirl train run")
    parser.add_argument("--transfer-overrides", nargs="*", default=[], help="key=value for every jaxirl expert run")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if args.seeds < 1:
        raise SystemExit(f"--seeds: expected a positive int, got {args.seeds}")
    for kind in ("airl", "gail", "expert"):
        if not os.path.isfile(os.path.join(ROOT, "configs", f"{kind}_{args.env}.yaml")):
            raise SystemExit(f"--env: no configs/{kind}_{args.env}.yaml")
    kwargs = {}
    if args.env_kwargs is not None:
        kwargs = yaml.safe_load(args.env_kwargs)
        if not isinstance(kwargs, dict):
            raise SystemExit(f"--env-kwargs: expected a YAML mapping, got {args.env_kwargs!r}")
    shift = [f"env.kwargs={yaml.safe_dump(kwargs, default_flow_style=True).strip()}"] if kwargs else []
    try:
        _check_overrides(args.env, args.sources, args.train_overrides, shift + args.transfer_overrides)
    except ValueError as err:
        raise SystemExit(f"reward_transfer.py: {err}") from None
    output = args.output or os.path.join(ROOT, "benchmarks", "results", f"reward_transfer_{args.env}.md")

    with tempfile.TemporaryDirectory() as root:
        base = [transfer(args.env, s, None, shift + args.transfer_overrides, root) for s in range(args.seeds)]
        rows = [("true reward", None, base)]
        for name in args.sources:
            algorithm, extra = SOURCES[name]
            learned = learn_reward(args.env, algorithm, [*extra, *args.train_overrides], root)
            runs = [transfer(args.env, s, learned["run_dir"], shift + args.transfer_overrides, root)
                    for s in range(args.seeds)]
            rows.append((name, learned, runs))
            print(f"{name}: own policy {learned['score_det']:.3f}; transfer det returns "
                  f"{[round(r['return_deterministic'], 2) for r in runs]}", flush=True)

    def relative(runs, key):
        return np.array([(r[key] - b["random_return"]) / (b["return_deterministic"] - b["random_return"])
                         for r, b in zip(runs, base)])

    lines = report.header(f"Reward transfer on {args.env}: PPO from scratch on a learned reward", "reward_transfer.py",
                          argv)
    lines += [
        f"- transfer runs: `configs/expert_{args.env}.yaml` with `train.reward_run`, seeds 0..{args.seeds - 1}"
        + (f", env.kwargs {kwargs} (the rewards were learned under the default dynamics)" if kwargs else ""),
        "- relative = (R − R_random) / (R_true − R_random) against PPO on the true reward with the same seed",
        "",
        "| PPO trains on | the reward run's own policy (det) | true return (det) per seed | relative (det), mean (min–max) "
        "| relative (samples) |",
        "|---|---|---|---|---|",
    ]
    for name, learned, runs in rows:
        det, sto = relative(runs, "return_deterministic"), relative(runs, "return_stochastic")
        own = "—" if learned is None else f"{learned['score_det']:.3f}"
        returns = " / ".join(f"{r['return_deterministic']:.2f}" for r in runs)
        lines.append(f"| {name} | {own} | {returns} | {det.mean():.3f} ({det.min():.3f}–{det.max():.3f}) | "
                     f"{sto.mean():.3f} |")
    print("\n".join(lines[-len(rows) - 2:]))
    report.write(output, lines)
    return rows


if __name__ == "__main__":
    main()
