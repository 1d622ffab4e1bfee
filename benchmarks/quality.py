"""Benchmark: final normalised score of GAIL and AIRL and wall-clock to reach 0.9 (seeds vmapped, or one at a time).

    python benchmarks/quality.py --preset cpu     # pointmass (shipped demos), 3 seeds
    python benchmarks/quality.py --preset cpu-pendulum # Brax inverted_pendulum (spring backend)
    python benchmarks/quality.py --preset cpu-hopper   # hopper (spring backend), CPU-trained expert
    python benchmarks/quality.py --preset cpu-halfcheetah  # halfcheetah (spring backend), CPU-trained expert
    python benchmarks/quality.py --preset gpu     # hopper, halfcheetah, ant, walker2d (needs demos/<env>.npz)
    python benchmarks/quality.py --envs pointmass --algorithms airl --seeds 3 train.num_iterations=200
    python benchmarks/quality.py --preset gpu --time-limit 120   # each run stops after 120 s of training
    python benchmarks/quality.py --envs ant --time-limit 120 --one-at-a-time  # each seed alone on the GPU

Every (env, algorithm) uses ``configs/<algorithm>_<env>.yaml`` (``<env>`` is a config stem such as
``hopper_spring``; overrides apply to all of them) and vmaps its seeds: by default the whole ``lax.scan`` of
training is ONE compiled program (:meth:`jaxirl.train.Trainer.train` under ``jax.vmap``, evaluating inside
the scan); with ``--time-limit S`` it runs chunk by chunk (one compiled program called again and again, with
a separate evaluation program after each chunk, compiled beside it) and stops after the chunk that passes S
seconds of training (``--one-at-a-time``: the seeds train one after another, each alone on the device, with
the program compiled for one seed — a single run's own wall-clock, which vmapped seeds sharing a GPU
overstate). Reported per run: the mean over seeds of the final deterministic and stochastic
normalised scores ``(R − R_random) / (R_expert − R_random)`` (evaluation on the TRUE reward; ``R_random``
from the demonstrations' metadata where recorded), the worst seed, compile time, training wall-clock, env
steps, and the wall-clock at which the seed-mean deterministic score first reaches 0.9 (one program: the
training time scaled by the fraction of iterations needed; chunked: measured, evaluation time excluded and
reported apart).
Writes ``benchmarks/results/quality.md`` (``--output``) with the device, date and command.
Targets (issue 7): ≥ 0.9 on hopper, halfcheetah, ant and walker2d, each within 2 minutes on one H100.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from jaxirl import data  # noqa: E402
from jaxirl.config import load_config  # noqa: E402
from jaxirl.jobs import train as train_job  # noqa: E402
from jaxirl.jobs.evaluate import eval_env_section, make_env  # noqa: E402
from jaxirl.plugins import import_modules  # noqa: E402
from jaxirl.train import make_train  # noqa: E402

import aot  # noqa: E402
import report  # noqa: E402

PRESETS = {
    "cpu": dict(envs=["pointmass"], algorithms=["gail", "airl"], seeds=3),
    # CPU Brax: inverted_pendulum with the spring backend (a few minutes per run on 2 cores)
    "cpu-pendulum": dict(envs=["inverted_pendulum"], algorithms=["gail", "airl"], seeds=1),
    # CPU locomotion: hopper with the spring backend from a CPU-trained expert (tens of minutes on 2 cores)
    "cpu-hopper": dict(envs=["hopper_spring"], algorithms=["gail", "airl"], seeds=3),
    # CPU locomotion without termination: halfcheetah with the spring backend, CPU-trained expert
    "cpu-halfcheetah": dict(envs=["halfcheetah_spring"], algorithms=["gail", "airl"], seeds=1),
    "gpu": dict(envs=["hopper", "halfcheetah", "ant", "walker2d"], algorithms=["gail", "airl"], seeds=3),
}


def _setup(env_name, algorithm, overrides, in_scan_eval=True):
    """``(cfg, env, config, trainer, metadata)`` of ``configs/<algorithm>_<env_name>.yaml`` with ``overrides``
    (``metadata``: the demonstrations' recorded metadata);
    ``in_scan_eval=False`` builds the trainer with ``eval_every = 0`` (``config`` keeps the configured value)."""
    cfg = load_config(os.path.join(ROOT, "configs", f"{algorithm}_{env_name}.yaml"), overrides,
                      train_job.defaults())
    import_modules(cfg["imports"])  # e.g. imports=[jaxirl.examples.layernorm_gail] train.algorithm=gail_ln
    train_job._check(cfg)  # bad override values fail here, with the job's own messages
    cfg["demos"]["path"] = os.path.join(ROOT, cfg["demos"]["path"]) if not os.path.isabs(cfg["demos"]["path"]) \
        else cfg["demos"]["path"]
    env = make_env(cfg["env"])
    eval_env = make_env(eval_env_section(cfg["env"], cfg["eval"]), num_envs=cfg["eval"]["num_envs"])
    config = train_job._train_config(cfg)
    demos, meta = train_job._load_demos(cfg, env)
    # R_expert and R_random (the score's 1 and 0) default to the values recorded with the demonstrations
    trainer = make_train(config if in_scan_eval else config.replace(eval_every=0), env, (demos, meta),
                         expert_return=cfg["demos"]["expert_return"], eval_env=eval_env)
    return cfg, env, config, trainer, meta


def init_program(trainer):
    """The seeds' initial states: ``init`` vmapped over keys, jitted."""
    return jax.jit(jax.vmap(trainer.init))


def chunk_program(trainer):
    """One chunk of training for vmapped seeds: ``(states, demos, iterations) -> (states, metrics)``, jitted
    with ``iterations`` static (the same compiled program for every chunk)."""
    return jax.jit(jax.vmap(trainer._run, in_axes=(0, None, None)), static_argnums=2)


def eval_program(trainer):
    """The seeds' evaluation on the true reward, ``states -> metrics`` (deterministic and stochastic returns and
    scores): :meth:`jaxirl.train.Trainer.evaluate` with its default key, vmapped over seeds, jitted."""
    return jax.jit(jax.vmap(trainer.evaluate))


def build_timed_programs(trainer, keys, chunk, times=None):
    """The three programs of a chunked run, compiled CONCURRENTLY: ``init`` (keys -> states), ``chunk``
    (``chunk`` training iterations; the trainer should have ``eval_every = 0`` so the physics appears once in
    it) and ``eval`` (states -> scores). Tracing (``lower``) holds Python's lock and runs in turn; XLA
    compilation releases it, so the three compile side by side on a multi-core host. (Hopper AIRL, 16 envs,
    2-core CPU: the evaluation loop inside the chunk made its tracing + compiling 28 + 79 s instead of
    10 + 45 s; here it is a program of its own.) Returns ``{"init", "chunk", "eval"}``; ``times`` (a dict), if given, gets each
    step's seconds (``<name> lower``, ``<name> compile``) and ``compile wall`` (the concurrent stage)."""
    times = {} if times is None else times

    def timed(name, fn):
        t = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t
        return out

    init = init_program(trainer)
    states = jax.eval_shape(init, keys)  # abstract: lowering needs shapes only
    lowered = {
        "init": timed("init lower", lambda: init.lower(keys)),
        "chunk": timed("chunk lower", lambda: chunk_program(trainer).lower(states, trainer.demos, chunk)),
        "eval": timed("eval lower", lambda: eval_program(trainer).lower(states)),
    }
    return aot.compile_concurrently(lowered, times)


# What the last training iteration of a chunk says about the run, beside its score (seed means): how long the
# training episodes are (learning to fall shows here first), the discriminator's mean D on policy samples (near
# 0: it has won), the learned absorbing state's score, and the env's true reward per step on the rollouts.
DIAGNOSTICS = {"train_episode_length": "episode length", "disc_d_policy": "D(policy)",
               "disc_absorbing_score": "absorbing score", "true_reward_mean": "true reward per step"}


def expert_policy_score(meta, trainer):
    """The demonstrating expert policy's own score under this run's normaliser (:func:`jaxirl.data.expert_policy_score`:
    what a perfect imitator of that policy averages; shipped halfcheetah 1.116). ``None`` where nothing is recorded
    or the random return is not known before training."""
    if trainer.random_return is None:
        return None
    return data.expert_policy_score(meta, trainer.random_return, trainer.expert_return)


def chunk_diagnostics(metrics):
    """``{name: seed-mean value at the chunk's last iteration}`` of the :data:`DIAGNOSTICS` the run records
    (``metrics``: the chunk program's per-iteration metrics, shaped ``(seeds, iterations)``)."""
    return {k: float(np.asarray(metrics[k])[:, -1].mean()) for k in DIAGNOSTICS if k in metrics}


def _trained(config_stem: str, algorithm: str) -> str:
    """The algorithm a row trained: its config's, or the override's with the config named."""
    return algorithm if algorithm == config_stem else f"{algorithm} ({config_stem} config)"


def _row(env_name, algorithm, seeds, config, env, trainer, det, stoch, iters, compile_s, train_s, to_09, curve,
         expert_policy=None, start_s=0.0):
    """One report row. ``det`` / ``stoch``: scores shaped ``(seeds, evaluations)`` — one column per chunk with
    ``curve`` (``(train s, iterations, seed-mean det)`` per chunk), else one per iteration of a whole-run program
    (``train_s`` less the init call's ``start_s``, which comes first, spread evenly over them). 'best' is the highest seed-mean deterministic score of any
    evaluation and the training seconds at it: learning curves here are not monotone (H200 ant: 0.84, then 0.68
    at the end), so the final score alone hides how close a run came."""
    mean_det = det.mean(axis=0)  # NaN where nothing was evaluated yet (every seed is evaluated at once)
    best_det = best_at = None
    if np.isfinite(mean_det).any():
        best = int(np.nanargmax(mean_det))
        best_det = float(mean_det[best])
        best_at = curve[best][0] if curve else start_s + (train_s - start_s) * (best + 1) / det.shape[1]
    return {
        # the algorithm trained (an override such as train.algorithm=gail_ln may replace the config's)
        "env": env_name, "algorithm": _trained(algorithm, getattr(config, "algorithm", algorithm)), "seeds": seeds,
        "iterations": iters,
        "env_steps": iters * config.generator.num_steps * env.num_envs,
        "final_det": float(det[:, -1].mean()), "final_stoch": float(stoch[:, -1].mean()),
        "worst_det": float(det[:, -1].min()), "compile_s": compile_s, "train_s": train_s, "to_0.9_s": to_09,
        "expert_return": trainer.expert_return, "curve": curve, "best_det": best_det, "best_at_s": best_at,
        "expert_policy_score": expert_policy,
    }


def run_one(env_name, algorithm, seeds, overrides):
    """The whole run as ONE compiled program (``vmap`` over seeds of ``Trainer.train``), and the init call (where a
    behavioural-cloning warm start runs) compiled and timed alone beside it: the init comes first, so 'to 0.9', the
    best score's seconds and the curve add its seconds before the iterations' (the rest of 'train s', spread evenly
    over the iterations). (Init and iterations as two programs would run the iterations with the state as a vmapped
    input, which turns the in-scan evaluation's ``cond`` on the iteration counter into a select: an evaluation
    every iteration, ~5x slower on the spring hopper.)"""
    cfg, env, config, trainer, meta = _setup(env_name, algorithm, overrides)
    keys = jax.random.split(jax.random.PRNGKey(cfg["run"]["seed"]), seeds)
    iters = config.num_iterations
    t = time.perf_counter()
    compiled = jax.jit(jax.vmap(trainer.train)).lower(keys).compile()
    compile_s = time.perf_counter() - t
    init = jax.jit(jax.vmap(lambda k: trainer._init(k, trainer.demos))).lower(keys).compile()
    t = time.perf_counter()
    jax.block_until_ready(init(keys))
    init_s = time.perf_counter() - t
    t = time.perf_counter()
    _, metrics = jax.block_until_ready(compiled(keys))
    train_s = time.perf_counter() - t
    init_s = min(init_s, train_s)
    run_s = train_s - init_s
    det = np.asarray(metrics["score_det"])  # (seeds, iterations)
    stoch = np.asarray(metrics["score_stoch"])
    mean_det = det.mean(0)
    reached = np.nonzero(mean_det >= 0.9)[0]
    to_09 = init_s + run_s * (reached[0] + 1) / iters if reached.size else None
    row = _row(env_name, algorithm, seeds, config, env, trainer, det, stoch, iters, compile_s, train_s, to_09, [],
               expert_policy_score(meta, trainer), start_s=init_s)
    row["curve"] = in_scan_curve(mean_det, config.eval_every, run_s, init_s)
    row["program_gib"] = aot.footprint_gib(compiled)
    row["init_s"] = init_s
    return row


def in_scan_curve(mean_det, eval_every, run_s, start_s=0.0):
    """The learning curve ``(train s, iterations, seed-mean det)`` of a whole-run program at its in-scan
    evaluations (after every ``eval_every``-th iteration; ``mean_det`` holds one value per iteration, the last
    evaluation carried forward): ``start_s`` (the init call) plus the iterations' seconds ``run_s`` spread evenly."""
    iters = len(mean_det)
    if eval_every <= 0:
        return []
    return [(round(start_s + run_s * (k + 1) / iters, 1), k + 1, round(float(mean_det[k]), 3))
            for k in range(eval_every - 1, iters, eval_every) if np.isfinite(mean_det[k])]


def _chunks(programs, trainer, state, chunk, num_iterations, time_limit, max_chunks=None, start_s=0.0):
    """Train ``state`` (one or more vmapped seeds) chunk by chunk: one call of the chunk program, then one of the
    evaluation program. Yields after every chunk ``{"train_s", "eval_s"}`` (cumulative seconds), ``"iters"``,
    ``"det"`` / ``"stoch"`` (the seeds' scores, shaped ``(seeds,)``) and ``"diag"`` (:func:`chunk_diagnostics`).
    Stops at ``num_iterations``, and after the chunk that passes ``time_limit`` seconds of training, or, with
    ``max_chunks``, after that many chunks (whatever the time). ``start_s``: training seconds already spent
    before the first chunk (the init call: a behavioural-cloning warm start runs there)."""
    train_s, eval_s = float(start_s), 0.0
    iters = n = 0
    while iters < num_iterations and ((n == 0 or train_s < time_limit) if max_chunks is None else n < max_chunks):
        t = time.perf_counter()
        state, metrics = programs["chunk"](state, trainer.demos)
        jax.block_until_ready(state)
        train_s += time.perf_counter() - t
        iters += chunk
        n += 1
        t = time.perf_counter()
        scores = programs["eval"](state)
        det, stoch = np.asarray(scores["score_det"]), np.asarray(scores["score_stoch"])
        eval_s += time.perf_counter() - t
        yield {"train_s": train_s, "eval_s": eval_s, "iters": iters, "det": det, "stoch": stoch,
               "diag": chunk_diagnostics(metrics)}


def _timed_row(env_name, algorithm, config, env, trainer, compile_s, runs, one_at_a_time, expert_policy=None):
    """The report row of a chunked run from ``runs``: one list of :func:`_chunks` records per program run (one
    run of all vmapped seeds, or one per seed with ``one_at_a_time``), cut to the chunks they all have. Scores are
    per seed; the curve's seconds, 'train s' and 'eval s' are the runs' means (one run: its own), so 'to 0.9'
    and 'best' are read off the seed-mean curve at the mean seconds of each chunk."""
    n = min(len(r) for r in runs)
    det = np.concatenate([np.stack([r[k]["det"] for k in range(n)], 1) for r in runs], 0)  # (seeds, chunks)
    stoch = np.concatenate([np.stack([r[k]["stoch"] for k in range(n)], 1) for r in runs], 0)
    secs = [float(np.mean([r[k]["train_s"] for r in runs])) for k in range(n)]
    iters = runs[0][n - 1]["iters"]
    curve = [(round(secs[k], 1), runs[0][k]["iters"], round(float(det[:, k].mean()), 3)) for k in range(n)]
    to_09 = next((secs[k] for k in range(n) if det[:, k].mean() >= 0.9), None)
    row = _row(env_name, algorithm, det.shape[0], config, env, trainer, det, stoch, iters, compile_s,
               secs[-1], to_09, curve, expert_policy)
    row["eval_s"] = float(np.mean([r[n - 1]["eval_s"] for r in runs]))
    row["init_s"] = float(np.mean([r[0].get("init_s", 0.0) for r in runs]))
    row["diagnostics"] = [(runs[0][k]["iters"], {name: float(np.mean([r[k]["diag"][name] for r in runs]))
                                                 for name in runs[0][k]["diag"]}) for k in range(n)]
    row["one_at_a_time"] = one_at_a_time
    return row


def run_timed(env_name, algorithm, seeds, overrides, time_limit, chunk, on_chunk=None, wait_for=None,
              one_at_a_time=False):
    """Chunked run with a training wall-clock budget: the seeds' states are vmapped, every chunk of ``chunk``
    iterations is one compiled call (the same program each time) followed by one call of a separate evaluation
    program (:func:`build_timed_programs`: the three programs compile concurrently), and training stops after
    the chunk that passes ``time_limit`` seconds of training (or at ``train.num_iterations``). ``chunk``
    defaults to ``train.eval_every``. Training seconds count the init call (where a BC warm start runs) and the training calls; the evaluations' seconds
    are reported apart (``eval_s``). 'to 0.9' is the training seconds at the end of the first chunk whose
    evaluation has a seed-mean deterministic score ≥ 0.9. ``on_chunk(row)`` is called after every chunk with
    the row so far (so a run cut off from outside keeps its curve). ``wait_for``: a path; after compiling,
    wait until it exists before training (lets several runs compile while another benchmark is being timed,
    and train only once it is done).

    ``one_at_a_time``: the programs are compiled for ONE seed and the seeds train one after another, each alone
    on the device (the same keys as vmapped, ``split(PRNGKey(run.seed), seeds)``): the first until the time
    limit, the others for as many chunks. Vmapped seeds share the device, so on a GPU that a single run does
    not fill, each of them trains slower than a run alone would — this measures one run's own wall-clock, as
    "within 2 minutes of training" asks, at ``seeds`` times the device time. Reported times are the seeds'
    means; the row (and ``on_chunk``'s) holds the first seed's chunks while it trains, then every finished
    seed."""
    cfg, env, config, trainer, meta = _setup(env_name, algorithm, overrides, in_scan_eval=False)
    expert = expert_policy_score(meta, trainer)
    chunk = chunk or config.eval_every
    if chunk <= 0 or config.num_iterations % chunk:
        raise ValueError(f"--chunk: expected a positive divisor of train.num_iterations ({config.num_iterations}), "
                         f"got {chunk} (the default is train.eval_every: every chunk ends with an evaluation)")
    keys = jax.random.split(jax.random.PRNGKey(cfg["run"]["seed"]), seeds)
    groups = [keys[i:i + 1] for i in range(seeds)] if one_at_a_time else [keys]
    t = time.perf_counter()
    times = {}
    programs = build_timed_programs(trainer, groups[0], chunk, times)
    compile_s = time.perf_counter() - t
    gib = aot.footprint_gib(programs["chunk"])

    def timed_row(runs_):
        return dict(_timed_row(env_name, algorithm, config, env, trainer, compile_s, runs_, one_at_a_time, expert),
                    program_gib=gib)

    print(f"  {algorithm} {env_name}: start-up {compile_s:.1f} s (" + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + ")" + (f"; waiting for {wait_for}" if wait_for and not os.path.exists(wait_for) else ""), flush=True)
    while wait_for and not os.path.exists(wait_for):
        time.sleep(0.5)
    runs = []
    for g, group in enumerate(groups):
        # the init call counts as training: with bc.steps > 0 the behavioural-cloning warm start runs in it
        t = time.perf_counter()
        state = jax.block_until_ready(programs["init"](group))
        init_s = time.perf_counter() - t
        label = f" seed {g}" if one_at_a_time else ""
        print(f"  {algorithm} {env_name}{label}: init {init_s:.1f} s (counted as training)", flush=True)
        run = []
        for rec in _chunks(programs, trainer, state, chunk, config.num_iterations, time_limit,
                           max_chunks=len(runs[0]) if runs else None, start_s=init_s):
            rec["init_s"] = init_s
            run.append(rec)
            print(f"  {algorithm} {env_name}{label}: {rec['iters']} iterations, {rec['train_s']:.1f} s "
                  f"(+{rec['eval_s']:.1f} s evaluating): score det {float(rec['det'].mean()):.3f}", flush=True)
            if on_chunk is not None and not runs:
                on_chunk(timed_row([run]))
        runs.append(run)
        if on_chunk is not None and g:
            on_chunk(timed_row(runs))
    return timed_row(runs)


def write_report(path, rows, argv):
    """The Markdown table of the rows so far (rewritten after every row)."""
    lines = report.header("Quality: GAIL and AIRL normalised scores", "quality.py", argv) + [
        "- seeds: vmapped in one program (they share the device), or 'N one at a time' (--one-at-a-time: each seed "
        "trains alone on the device with the same compiled program, as one user's run would; its seconds are the "
        "seeds' means).",
        "- score = (R − R_random) / (R_expert − R_random) on the true reward (R_expert and R_random as recorded with "
        "the demonstrations unless a config sets them), final evaluation, mean over seeds; 'to 0.9' = training wall-clock "
        "until the seed-mean deterministic score first reaches 0.9; 'best': the highest seed-mean deterministic score "
        "of any evaluation, at that many training seconds. 'eval s': seconds spent evaluating, apart from "
        "'train s' in chunked runs (--time-limit: a separate evaluation program after every chunk); '—': one "
        "program with in-scan evaluation, whose time is inside 'train s' (its seconds spread evenly over the "
        "iterations). 'train s' and 'to 0.9' include the init call, timed apart and counted first (seeds' mean "
        "'init s' in the curve line below; a behavioural-cloning warm start, bc.steps > 0, runs there).",
        "",
        "| env | algorithm | seeds | iterations | env steps per seed | final score (det) | worst seed | final score (stoch) | best (det) at train s | train s | compile s | to 0.9 | eval s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['env']} | {r['algorithm']} | — | — | — | skipped: {r['skipped'][:80]} | | | | | | | |")
            continue
        t09 = "never" if r["to_0.9_s"] is None else f"{r['to_0.9_s']:.1f} s"
        best = "—" if r.get("best_det") is None else f"{r['best_det']:.3f} at {r['best_at_s']:.1f} s"
        lines.append(
            f"| {r['env']} | {r['algorithm']} | {r['seeds']}{' one at a time' if r.get('one_at_a_time') else ''} | {r['iterations']} | {r['env_steps']:,} | "
            f"{r['final_det']:.3f} | {r['worst_det']:.3f} | {r['final_stoch']:.3f} | {best} | {r['train_s']:.1f} | "
            f"{r['compile_s']:.1f} | {t09} | {'—' if r.get('eval_s') is None else format(r['eval_s'], '.1f')} |"
        )
    experts = {(r["env"], round(r["expert_policy_score"], 3)) for r in rows if r.get("expert_policy_score") is not None}
    if experts:
        lines += ["", "The expert policy's own score (its recorded deterministic evaluation return under the same "
                  "normaliser, whose R_expert is the demonstrated episodes' mean): " +
                  ", ".join(f"{e} {v:.3f}" for e, v in sorted(experts)) + " — what a perfect imitator averages."]
    curves = [r for r in rows if r.get("curve")]
    if curves:
        lines += ["", "Learning curves (training seconds, iterations, seed-mean deterministic score; for a whole-run "
                  "program its seconds, in-scan evaluations included, spread evenly over the iterations):", ""]
        for r in curves:
            pts = ", ".join(f"{t:g} s/{i}: {v:.2f}" for t, i, v in r["curve"])
            init = f" (init {r['init_s']:.1f} s, included)" if r.get("init_s") is not None else ""
            lines.append(f"- {r['env']} {r['algorithm']}{init}: {pts}")
    sized = [r for r in rows if r.get("program_gib") is not None]
    if sized:
        lines += ["", "Memory of the training program (all its seeds; XLA's buffer assignment: arguments, outputs and "
                  "temporaries, `aot.footprint_gib`): " +
                  ", ".join(f"{r['env']} {r['algorithm']} {r['program_gib']:.3g} GiB" for r in sized) + "."]
    diags = [r for r in rows if r.get("diagnostics")]
    if diags:
        lines += ["", "Training diagnostics at the end of each chunk (iterations: seed means at the chunk's last "
                  "iteration):", ""]
        for r in diags:
            names = " / ".join(DIAGNOSTICS[k] for k in r["diagnostics"][0][1])
            pts = "; ".join(f"{i}: " + " / ".join(f"{v:.3g}" for v in d.values()) for i, d in r["diagnostics"])
            lines.append(f"- {r['env']} {r['algorithm']} ({names}): {pts}")
    report.write(path, lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--envs", nargs="+")
    parser.add_argument("--algorithms", nargs="+", choices=["gail", "airl"])
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--time-limit", type=float, default=0.0,
                        help="seconds of training per run (chunked; 0: the whole run as one program)")
    parser.add_argument("--chunk", type=int, default=0, help="iterations per call with --time-limit "
                        "(0: train.eval_every)")
    parser.add_argument("--wait-for", help="with --time-limit: after compiling, wait for this path to exist")
    parser.add_argument("--one-at-a-time", action="store_true", help="with --time-limit: train the seeds one "
                        "after another, each alone on the device (one run's own wall-clock; seeds x the device time)")
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "quality.md"))
    parser.add_argument("overrides", nargs="*", help="config overrides applied to every run (key=value)")
    args = parser.parse_args(argv)
    if not (args.time_limit >= 0 and np.isfinite(args.time_limit)):
        parser.error(f"--time-limit: expected seconds >= 0, got {args.time_limit}")
    if args.chunk < 0:
        parser.error(f"--chunk: expected iterations >= 0 (0: train.eval_every), got {args.chunk}")
    if (args.chunk or args.wait_for or args.one_at_a_time) and not args.time_limit:
        parser.error("--chunk, --wait-for and --one-at-a-time apply to chunked runs only: give --time-limit too")
    p = dict(PRESETS[args.preset])
    for k in ("envs", "algorithms", "seeds"):
        if getattr(args, k) is not None:
            p[k] = getattr(args, k)

    rows = []
    for env_name in p["envs"]:
        for algorithm in p["algorithms"]:
            try:
                if args.time_limit > 0:
                    row = run_timed(env_name, algorithm, p["seeds"], args.overrides, args.time_limit, args.chunk,
                                    on_chunk=lambda r: write_report(args.output, rows + [r], argv),
                                    wait_for=args.wait_for, one_at_a_time=args.one_at_a_time)
                else:
                    row = run_one(env_name, algorithm, p["seeds"], args.overrides)
            except (ValueError, FileNotFoundError) as err:  # e.g. demonstrations not produced yet
                print(f"{algorithm} {env_name}: skipped: {err}", flush=True)
                rows.append({"env": env_name, "algorithm": algorithm, "skipped": str(err)})
                write_report(args.output, rows, argv)
                continue
            rows.append(row)
            t09 = "never" if row["to_0.9_s"] is None else f"{row['to_0.9_s']:.1f} s"
            print(f"{algorithm:>5} {env_name:>12}: final score det {row['final_det']:.3f} (worst seed "
                  f"{row['worst_det']:.3f}), stoch {row['final_stoch']:.3f}"
                  + ("" if row["best_det"] is None else f", best det {row['best_det']:.3f} at {row['best_at_s']:.1f} s")
                  + f"; train {row['train_s']:.1f} s "
                  f"(+{row['compile_s']:.1f} s compile), to 0.9: {t09}", flush=True)
            write_report(args.output, rows, argv)  # after every row: a run cut off by a time limit keeps its rows


if __name__ == "__main__":
    main()
