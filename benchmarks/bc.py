"""Benchmark: behavioural cloning alone on the shipped demonstrations — the normalised score of the cloned policy.

    python benchmarks/bc.py                                   # hopper, halfcheetah, ant, walker2d (generalized)
    python benchmarks/bc.py --envs hopper_spring halfcheetah_spring --seeds 3
    python benchmarks/bc.py --envs walker2d --bc-steps 1000 4000 --init-log-std 0 -1

For every env (a config stem: ``configs/gail_<env>.yaml`` gives the env, the demonstrations, the PPO policy's
architecture and the normaliser), :func:`jaxirl.bc.fit` clones the demonstrations into a fresh PPO policy
(``--seeds`` fits with different initial networks and minibatch draws, vmapped), then the policy is evaluated
on the TRUE reward: ``--episodes`` episodes each of its mode and of its samples (the samples' spread is the
policy's initial std, ``exp(init_log_std)``, kept by BC). Score = ``(R − R_random) / (R_expert − R_random)`` with
the demonstrations' recorded ``R_expert`` (the demonstrated episodes' mean) and ``R_random``. What it tells: about the
score an adversarial run warm-started from BC (``bc.steps`` in its config) begins with (the configs' warm starts
fit all transitions, with their own keys; ``--validation-fraction 0`` fits the same data), and the BC baseline the
adversarial methods should beat. Runs on the CPU too (a Brax env's evaluation is one compiled episode loop).
Writes ``benchmarks/results/bc.md`` (``--output``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from jaxirl.bc import BCConfig, fit  # noqa: E402
from jaxirl.rl import ppo  # noqa: E402
from jaxirl.rl.evaluate import evaluate  # noqa: E402

import quality  # noqa: E402
import report  # noqa: E402


def clone_and_score(env_name: str, bc: BCConfig, seeds: int, episodes: int, init_log_std: float, overrides=()):
    """One row: fit ``seeds`` cloned policies (vmapped), evaluate each (mode and samples), return a dict."""
    cfg, env, config, trainer, meta = quality._setup(
        env_name, "gail", [*overrides, f"eval.num_envs={episodes}", f"ppo.init_log_std={init_log_std}"])
    if trainer.random_return is None:
        raise ValueError(f"{env_name}: the demonstrations record no random_return (needed for the score)")
    if not trainer.expert_actions:
        raise ValueError(f"{env_name}: the demonstrations have no actions (demos.drop_actions, or an observation-only "
                         "file), and behavioural cloning fits the expert's actions")
    pcfg, demos, ev = config.generator, trainer.demos, trainer.eval_env
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)

    def clone(key):
        k_init, k_fit = jax.random.split(key)
        return fit(bc, pcfg, ppo.init(pcfg, env, k_init), demos.obs, demos.action, k_fit)

    def score(state, key):
        def run(mode, k):
            def act(o, kk):
                det = ppo.act_deterministic(pcfg, state, o)
                return jnp.where(mode == 0, det, ppo.act(pcfg, state, o, kk)[0])

            return evaluate(ev, act, k, ev.episode_length)["mean_return"]

        return jax.vmap(run)(jnp.arange(2), jax.random.split(key))

    t = time.perf_counter()
    states, metrics = jax.block_until_ready(jax.jit(jax.vmap(clone))(keys))
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    returns = np.asarray(jax.jit(jax.vmap(score))(states, jax.random.split(jax.random.PRNGKey(1), seeds)))
    eval_s = time.perf_counter() - t
    norm = lambda r: (r - trainer.random_return) / (trainer.expert_return - trainer.random_return)  # noqa: E731
    det, sto = norm(returns[:, 0]), norm(returns[:, 1])
    return {
        "env": env_name, "backend": cfg["env"]["backend"], "transitions": int(demos.obs.shape[0]),
        "bc_steps": bc.steps, "init_log_std": init_log_std, "seeds": seeds, "episodes": episodes,
        "det": det, "stoch": sto, "return_det": returns[:, 0], "expert": trainer.expert_return,
        "random": trainer.random_return, "expert_policy": quality.expert_policy_score(meta, trainer),
        "mode_mse": float(np.mean(metrics["mode_mse"])), "val_nll": float(np.mean(metrics["val_nll"])),
        "fit_s": fit_s, "eval_s": eval_s,
    }


def table(rows) -> list[str]:
    out = ["| env | demos (transitions) | BC steps | policy std | seeds | episodes | score det: mean (min–max) | "
           "score stoch | return det | expert policy's own score | mode MSE | held-out NLL | fit + eval s (incl. compile) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ep = "—" if r["expert_policy"] is None else f"{r['expert_policy']:.3f}"
        out.append(
            f"| {r['env']} | {r['transitions']:,} | {r['bc_steps']} | {np.exp(r['init_log_std']):.2f} | {r['seeds']} | "
            f"{r['episodes']} | {r['det'].mean():.3f} ({r['det'].min():.3f}–{r['det'].max():.3f}) | "
            f"{r['stoch'].mean():.3f} | {r['return_det'].mean():.0f} (expert {r['expert']:.0f}, random {r['random']:.0f}) | "
            f"{ep} | {r['mode_mse']:.4f} | {r['val_nll']:.2f} | {r['fit_s']:.0f} + {r['eval_s']:.0f} |")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["hopper", "halfcheetah", "ant", "walker2d"],
                        help="config stems (configs/gail_<env>.yaml)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=32, help="evaluation episodes per seed and mode")
    parser.add_argument("--bc-steps", type=int, nargs="+", default=[4000])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--validation-fraction", type=float, default=0.125,
                        help="the last transitions held out of the fit (their NLL reported); 0: fit on all of them")
    parser.add_argument("--init-log-std", type=float, nargs="+", default=[-1.0],
                        help="the policy's (fixed) log std: the spread of its samples")
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "bc.md"))
    parser.add_argument("overrides", nargs="*", help="key=value for the gail configs (e.g. env.backend=spring)")
    args = parser.parse_args(argv)
    for name in ("seeds", "episodes", "batch_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')}: expected a positive int, got {getattr(args, name)}")
    if not 0.0 <= args.validation_fraction < 1.0:
        raise SystemExit(f"--validation-fraction: expected a number in [0, 1), got {args.validation_fraction}")
    if any(s < 1 for s in args.bc_steps):
        raise SystemExit(f"--bc-steps: expected positive ints, got {args.bc_steps}")
    for env_name in args.envs:
        if not os.path.isfile(os.path.join(ROOT, "configs", f"gail_{env_name}.yaml")):
            raise SystemExit(f"--envs: no configs/gail_{env_name}.yaml")
    rows = []
    for env_name in args.envs:
        for steps in args.bc_steps:
            for log_std in args.init_log_std:
                bc = BCConfig(steps=steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
                              validation_fraction=args.validation_fraction).validate()
                r = clone_and_score(env_name, bc, args.seeds, args.episodes, log_std, args.overrides)
                rows.append(r)
                print(f"{env_name} steps {steps} std {np.exp(log_std):.2f}: det {r['det'].mean():.3f} "
                      f"(min {r['det'].min():.3f}) stoch {r['stoch'].mean():.3f}  [{r['fit_s']:.0f} + {r['eval_s']:.0f} s]",
                      flush=True)
    lines = report.header("Behavioural cloning alone: normalised score of the cloned policy", "bc.py", argv)
    lines += [
        "- BC: `jaxirl.bc.fit` (maximum likelihood of the demonstrated actions, Adam, batch "
        f"{args.batch_size}, learning rate {args.learning_rate}, the policy's std fixed; a fraction "
        f"{args.validation_fraction:g} of the transitions — the last ones — held out for the NLL column), the PPO "
        "policy network of `configs/gail_<env>.yaml`",
        "- score = (R − R_random) / (R_expert − R_random) on the true reward, R_expert = the demonstrated episodes' "
        "mean (as in every quality table); 'expert policy's own score': its recorded deterministic evaluation under "
        "the same normaliser",
        "",
    ]
    lines += table(rows)
    report.write(args.output, lines)
    return rows


if __name__ == "__main__":
    main()
