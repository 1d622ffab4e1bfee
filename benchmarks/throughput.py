"""Benchmark: env-steps/s of bare stepping, PPO, GAIL and AIRL training, side by side in one process.

    python benchmarks/throughput.py --preset cpu          # hopper (spring), 64 envs
    python benchmarks/throughput.py --preset gpu          # hopper and ant (generalized), 2048/8192/16384 envs
    python benchmarks/throughput.py --envs hopper --backend spring --num-envs 64 --iterations 4
    python benchmarks/throughput.py --preset cpu --reset-pool   # envs with a reset pool of num_envs states
    python benchmarks/throughput.py --preset gpu --envs halfcheetah ant --num-envs 1024 4096 16384 --parts bare

For each (env, num_envs) it measures

  (a) bare: the VecEnv stepped with uniform random actions, ``--iterations`` rollouts of T steps in a
      ``lax.scan``, each begun by ``env.refill`` as the trained programs' rollouts are (observations summed into
      the carry so XLA cannot drop the physics),
  (b) ppo: PPO rollout + update on the true reward,
  (c) gail, (d) airl: the full adversarial iteration of :mod:`jaxirl.train` (rollout, K discriminator
      steps, relabelling, PPO update),

all with the same unroll length T, each compiled ahead of time (``jit(...).lower(...).compile()``; the report gives the
seconds spent tracing, compiling and on the whole row) and timed after compilation (best of ``--repeats``). The expert data for (c)/(d) are transitions of a random
policy: throughput does not depend on what the demonstrations show. Writes a Markdown table with the
device, date, command and ratios to ``benchmarks/results/throughput.md`` (``--output``).
Targets (issue 7): GPU, ant at 8192 envs: airl/bare ≥ 0.5; CPU, hopper spring at 64 envs: airl/bare ≥ 0.3.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jaxirl import envs  # noqa: E402
from jaxirl.rl import ppo  # noqa: E402
from jaxirl.train import make_train  # noqa: E402

import aot  # noqa: E402
import report  # noqa: E402
from jaxirl.train_config import make_config  # noqa: E402

PRESETS = {
    "cpu": dict(envs=["hopper"], backend="spring", num_envs=[64], unroll=32, iterations=16),
    "gpu": dict(envs=["hopper", "ant"], backend="generalized", num_envs=[2048, 8192, 16384], unroll=32, iterations=4),
}


def _time_once(compiled, args):
    t = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    return time.perf_counter() - t


def prepare_bare(env, unroll, iterations, stagger=False):
    """``(lowered, args, env_steps_per_call)`` for (a): ``iterations`` rollouts of ``unroll`` steps, each begun by
    ``env.refill`` as the trained programs' rollouts are (a no-op without a reset pool), from ``env.reset`` (with
    staggered time limits if ``stagger``; ``reset_cost.py``). The program returns the final env state, the sum of
    the observations and rewards, and the number of steps in which some env ended; ``args`` is
    ``(env_state, key)``."""
    steps = unroll * iterations

    def run(env_state, key):
        def body(carry, k):
            s, acc, ends = carry
            a = jax.random.uniform(k, (env.num_envs, env.action_size), minval=-1.0, maxval=1.0)
            s, tr = env.step(s, a)
            ended = jnp.any((tr.terminated + tr.truncated) > 0).astype(jnp.int32)
            return (s, acc + jnp.sum(tr.next_obs) + jnp.sum(tr.reward), ends + ended), None

        def rollout(carry, keys):
            s, acc, ends = carry
            return jax.lax.scan(body, (env.refill(s), acc, ends), keys)[0], None

        keys = jax.random.split(key, steps)
        keys = keys.reshape((iterations, unroll) + keys.shape[1:])
        return jax.lax.scan(rollout, (env_state, jnp.zeros(()), jnp.zeros((), jnp.int32)), keys)[0]

    # jitted: eager, op by op, a generalized-backend reset took ~45 s
    state = jax.jit(lambda k: env.reset(k, stagger=True) if stagger else env.reset(k))(jax.random.key(0))
    return jax.jit(run).lower(state, jax.random.key(1)), (state, jax.random.key(1)), steps * env.num_envs


def ppo_config(unroll):
    return ppo.PPOConfig(num_steps=unroll, num_minibatches=4, update_epochs=4, hidden=(64, 64))


def prepare_ppo(env, unroll, iterations):
    config = ppo_config(unroll)

    def run(state, env_state, key):
        def body(carry, k):
            state, env_state = carry
            k1, k2 = jax.random.split(k)
            env_state, ro = ppo.rollout(config, state, env, env_state, k1)
            state, metrics = ppo.update(config, state, ro, ro.transition.reward, k2)
            return (state, env_state), metrics

        return jax.lax.scan(body, (state, env_state), jax.random.split(key, iterations))

    state = ppo.init(config, env, jax.random.key(0))
    env_state = jax.jit(env.reset)(jax.random.key(1))
    args = (state, env_state, jax.random.key(2))
    return jax.jit(run).lower(*args), args, iterations * unroll * env.num_envs


def random_demos(env, num):
    """``num`` transitions of uniformly random actions (stand-in expert data for a throughput test)."""
    steps = max(1, num // env.num_envs)

    def body(s, k):
        a = jax.random.uniform(k, (env.num_envs, env.action_size), minval=-1.0, maxval=1.0)
        return env.step(s, a)

    @jax.jit  # one program: eagerly, the reset ran op by op (tens of seconds for a generalized-backend env)
    def roll(reset_key, step_key):
        _, tr = jax.lax.scan(body, env.reset(reset_key), jax.random.split(step_key, steps))
        return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), tr)

    return roll(jax.random.key(3), jax.random.key(4))


def adversarial_trainer(algorithm, env, demos, unroll, iterations, shuffle_groups=1):
    """``(trainer, initial state)`` of (c)/(d): 5 discriminator steps, PPO 4 epochs × 4 minibatches, no evaluation."""
    config = make_config(
        algorithm, "ppo",
        discriminator={"num_steps": 5, "expert_batch_size": 1024, "policy_batch_size": 1024},
        generator_config={"num_steps": unroll, "num_minibatches": 4, "update_epochs": 4,
                          "shuffle_groups": shuffle_groups},
        num_iterations=iterations, eval_every=0,
    )
    # random_return given: no score is needed here, and init then skips its random-policy rollout (an episode
    # length of physics that would otherwise sit in the 'trace s' column)
    trainer = make_train(config, env, demos, expert_return=1.0, random_return=0.0)
    return trainer, jax.jit(trainer.init)(jax.random.key(0))


def prepare_adversarial(algorithm, env, demos, unroll, iterations):
    trainer, state = adversarial_trainer(algorithm, env, demos, unroll, iterations)
    lowered = jax.jit(trainer._run, static_argnums=2).lower(state, trainer.demos, iterations)
    return lowered, (state, trainer.demos), iterations * unroll * env.num_envs


PARTS = ("bare", "ppo", "gail", "airl")


def bench_row(env, demos, unroll, iterations, repeats, parts=PARTS):
    """Env-steps/s of the four programs (or of ``parts`` of them). They are traced one after the other,
    compiled concurrently (XLA compiles outside the GIL; with the generalized backend each takes tens of
    seconds) and then timed one at a time, so the timings never overlap, in rounds (each program once per round,
    ``repeats`` rounds, the best time of each kept): a change in the machine's load during the row then reaches
    every program alike instead of the ones timed last, and the ratios to bare stepping hold better."""
    t = time.perf_counter()
    prepare = {
        "bare": lambda: prepare_bare(env, unroll, iterations),
        "ppo": lambda: prepare_ppo(env, unroll, iterations),
        "gail": lambda: prepare_adversarial("gail", env, demos, unroll, iterations),
        "airl": lambda: prepare_adversarial("airl", env, demos, unroll, iterations),
    }
    lowered = {k: prepare[k]() for k in PARTS if k in parts}
    trace_s = time.perf_counter() - t
    times = {}
    compiled = aot.compile_concurrently({k: low for k, (low, _, _) in lowered.items()}, times)
    row = {"compile_s": times["compile wall"], "trace_s": trace_s,
           "gib": max((g for g in map(aot.footprint_gib, compiled.values()) if g is not None), default=None)}
    best = {k: float("inf") for k in lowered}
    for _ in range(repeats):
        for k, (_, args, _) in lowered.items():
            best[k] = min(best[k], _time_once(compiled[k], args))
    for k, (_, _, steps) in lowered.items():
        row[k] = steps / best[k]
    return row


def write_report(path, rows, p, repeats, argv):
    lines = report.header("Throughput: env-steps/s of bare stepping, PPO, GAIL and AIRL", "throughput.py", argv) + [
        f"- backend {p['backend']}, unroll T = {p['unroll']}, {p['iterations']} iterations per timed call, "
        + ("reset pool of num_envs states (`env.reset_pool`, refilled once per rollout), " if p.get("reset_pool")
           else "") +
        "PPO 4 epochs × 4 minibatches, 5 discriminator steps of 1024 + 1024 samples; compiled ahead of time "
        f"(the four programs of a row concurrently), timed one at a time in {repeats} rounds (each program once per "
        "round), best of each. 'GiB': the row's largest program's memory by XLA's buffer assignment (arguments, "
        "outputs and temporaries; `aot.footprint_gib`).",
        "",
        "| env | num_envs | (a) bare | (b) PPO | (c) GAIL | (d) AIRL | PPO/bare | GAIL/bare | AIRL/bare | trace s | compile s | row s | GiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    def rate(r, k):
        return f"{r[k]:,.0f}" if k in r else "—"

    def ratio(r, k):
        return f"{r[k] / r['bare']:.2f}" if k in r and "bare" in r else "—"

    for r in rows:
        lines.append(
            f"| {r['env']} | {r['num_envs']} | {rate(r, 'bare')} | {rate(r, 'ppo')} | {rate(r, 'gail')} | "
            f"{rate(r, 'airl')} | {ratio(r, 'ppo')} | {ratio(r, 'gail')} | {ratio(r, 'airl')} | "
            f"{r['trace_s']:.0f} | {r['compile_s']:.0f} | {r['wall']:.0f} | "
            f"{'—' if r.get('gib') is None else format(r['gib'], '.3g')} |"
        )
    report.write(path, lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--envs", nargs="+")
    parser.add_argument("--backend")
    parser.add_argument("--num-envs", type=int, nargs="+")
    parser.add_argument("--unroll", type=int)
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which programs to time (e.g. --parts bare: how the physics alone scales with num_envs)")
    parser.add_argument("--reset-pool", action="store_true",
                        help="envs with a reset pool of num_envs states (jaxirl.envs.VecEnv reset_pool)")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                         "throughput.md"))
    args = parser.parse_args(argv)
    p = dict(PRESETS[args.preset], reset_pool=args.reset_pool)
    for k in ("envs", "backend", "num_envs", "unroll", "iterations"):
        if getattr(args, k) is not None:
            p[k] = getattr(args, k)
    if p["backend"] in ("none", "null"):  # pure-JAX envs (pointmass) take no Brax backend
        p["backend"] = None

    rows = []
    for name in p["envs"]:
        for n in p["num_envs"]:
            t0 = time.perf_counter()  # the row's wall-clock: env, stand-in demos, tracing, compiling, timing
            env = envs.make(name, n, episode_length=1000, backend=p["backend"], reset_pool=n if args.reset_pool else 0)
            # stand-in expert data, for GAIL/AIRL only (a bare-stepping row built it too: a physics rollout per row)
            # (its one long scan steps the env without a reset pool: a pool never refilled would be reused throughout)
            demos = random_demos(env.with_reset_pool(0), 16 * 1000) if {"gail", "airl"} & set(args.parts) else None
            row = {"env": name, "num_envs": n}
            row.update(bench_row(env, demos, p["unroll"], p["iterations"], args.repeats, args.parts))
            row["wall"] = time.perf_counter() - t0
            rows.append(row)
            rates = "  ".join(f"{k} {row[k]:>12,.0f}" for k in PARTS if k in row)
            ratio = f"  airl/bare {row['airl'] / row['bare']:.2f}" if "airl" in row and "bare" in row else ""
            print(f"{name:>12} {n:>6} envs  {rates} steps/s{ratio}  (trace {row['trace_s']:.0f} s, "
                  f"compile {row['compile_s']:.0f} s, row {row['wall']:.0f} s)", flush=True)
            write_report(args.output, rows, p, args.repeats, argv)  # after every row: a cut-off run keeps its rows



if __name__ == "__main__":
    main()
