"""``jaxirl bc CONFIG``: behavioural cloning (Pomerleau 1991) of a demonstrations file into a PPO policy.

The baseline every imitation result should be read against, and a policy to start from: maximum likelihood
of the demonstrated actions (:mod:`jaxirl.bc`), evaluated on the environment's TRUE reward along the way.

Sections (defaults in :func:`defaults`)::

    imports:[] — modules imported first (they register objectives / envs of one's own;
            jaxirl.plugins.import_modules)
    env:    name, backend, num_envs (unused: evaluation uses eval.num_envs), episode_length, kwargs
    demos:  path, expert_return (null: the file's metadata), terminations (keep | truncate), episodes (null:
            all; N: the first N), as for ``jaxirl train`` (drop_actions must stay false, and the file must have
            actions: an observation-only set has nothing to clone); the random policy's return (the 0 of the score) is the file's recorded
            random_return where it has one, else the one measured at the first evaluation
    ppo:    the fields of jaxirl.rl.ppo.PPOConfig: the policy's network (hidden, activation, policy_head,
            init_log_std — the fixed std unless bc.fit_std — normalize_obs); the rest is kept so the saved
            policy can be evaluated (``jaxirl eval``) or trained further with the same settings
    bc:     the fields of jaxirl.bc.BCConfig: steps (>= 1, default 4000), batch_size, learning_rate, ent_coef,
            l2, fit_std, validation_fraction (default 0.125: the file's last eighth of transitions held out — the
            cut can fall inside an episode — and their NLL reported);
            coef / coef_decay_iterations belong to adversarial runs and must stay 0
    eval:   num_envs, seed, num_steps (0: one episode length), env_kwargs (as for ``jaxirl train``)
    run:    root, prefix (null: "bc-<env>"), seed, eval_every (BC steps between evaluations; 0: only at the
            end)

The fit runs in chunks of ``run.eval_every`` steps (one compiled ``lax.scan`` each, the Adam state and the
per-step keys carried across, so the chunking changes no number), each followed by an evaluation of the policy's
mode and samples from the same ``eval.seed`` (the last one is what ``jaxirl eval RUN_DIR`` reproduces).
The run folder gets ``config.yaml``, ``metrics.jsonl`` (one record per chunk: step, training NLL of the chunk's
minibatches, held-out NLL, mode MSE, returns and normalised scores), ``learning_curve.png``,
``policy.msgpack`` (the PPO state: ``jaxirl eval RUN_DIR`` re-evaluates it; :func:`jaxirl.jobs.evaluate.load_policy`
loads it) and ``summary.json``. A fit is short, so there are no checkpoints and no resume.
"""

from __future__ import annotations

import os
import time
from typing import Sequence

import jax
import numpy as np

from jaxirl import io
from jaxirl.config import load_config, struct_defaults, to_struct
from jaxirl.jobs import Diverged, finite_lanes, first_nonfinite, interruptible
from jaxirl.plugins import import_modules
from jaxirl.jobs.evaluate import (ENV_DEFAULTS, POLICY_FILE, make_eval_env, policy_evaluator,
                                  acting_config, ppo_defaults)
from jaxirl.progress import ProgressBar

__all__ = ["main", "defaults"]

CURVE_KEYS = ("score_det", "score_stoch", "nll", "val_nll")


def defaults() -> dict:
    from jaxirl.bc import BCConfig
    from jaxirl.jobs.train import defaults as train_defaults

    train = train_defaults()  # the demos and eval sections are those of `jaxirl train`
    return {
        "imports": [],  # modules to import first: objectives / envs of one's own (jaxirl.plugins.import_modules)
        "env": dict(ENV_DEFAULTS),
        "demos": train["demos"],
        "ppo": ppo_defaults(),
        "bc": {**struct_defaults(BCConfig), "steps": 4000, "validation_fraction": 0.125},
        "eval": train["eval"],
        "run": {"root": "runs", "prefix": None, "seed": 0, "eval_every": 500},
    }


def _check(cfg: dict, bc) -> None:
    if bc.steps < 1:
        raise ValueError(f"bc.steps: expected an int >= 1 (the number of Adam steps to fit), got {bc.steps}")
    for name in ("coef", "coef_decay_iterations"):
        if getattr(bc, name) != 0:
            raise ValueError(f"bc.{name}: the BC term belongs to adversarial runs (`jaxirl train`); "
                             f"expected 0 here, got {getattr(bc, name)!r}")
    run = cfg["run"]
    every = run["eval_every"]
    if isinstance(every, bool) or not isinstance(every, int) or every < 0:
        raise ValueError(f"run.eval_every: expected an int >= 0 (0: evaluate at the end only), got {every!r}")
    from jaxirl.jobs.train import check_prefix_demos_eval

    check_prefix_demos_eval(cfg)
    if cfg["demos"]["drop_actions"]:
        raise ValueError("demos.drop_actions: behavioural cloning fits the expert's actions; expected false")


def _chunks(total: int, every: int) -> list[int]:
    """Chunk lengths: ``every`` steps each (the last one shorter if ``every`` does not divide ``total``)."""
    every = every or total
    return [min(every, total - s) for s in range(0, total, every)]


def main(config_path: str | None, overrides: Sequence[str] = ()) -> dict:
    """Fit, evaluate and save; returns the summary (also written to ``RUN_DIR/summary.json``)."""
    from jaxirl import bc as bc_lib
    from jaxirl.jobs.train import _load_demos
    from jaxirl.metrics import normalized_score
    from jaxirl.rl import ppo
    from jaxirl.train import score_normaliser

    cfg = load_config(config_path, overrides, defaults())
    import_modules(cfg["imports"])  # before any name is looked up: they may register objectives and envs
    bc = to_struct(bc_lib.BCConfig, cfg["bc"], name="bc").validate()
    _check(cfg, bc)
    eval_env = make_eval_env(cfg["env"], cfg["eval"], cfg["eval"]["num_envs"])
    config = acting_config(cfg["ppo"], eval_env)
    demos, meta = _load_demos(cfg, eval_env)
    if demos.action is None:
        raise ValueError(f"demos.path: {cfg['demos']['path']!r} is an observation-only set (no actions), and "
                         "behavioural cloning fits the expert's actions")
    bc_lib.split(bc, int(demos.obs.shape[0]))  # refuses a split that leaves nothing to train on
    expert_return, random_return = score_normaliser(demos, meta, cfg["demos"]["expert_return"])
    obs, action = demos.obs, demos.action

    key = jax.random.PRNGKey(cfg["run"]["seed"])
    k_init, k_fit = jax.random.split(key)
    k_eval = jax.random.PRNGKey(cfg["eval"]["seed"])  # every evaluation from the same start states, as `jaxirl eval`
    state = ppo.init(config, eval_env, k_init)
    bc_lib.prepare_actions(bc, state, action)  # a setting that cannot act (ent_coef with a fixed std) fails here
    state, opt_state = jax.jit(lambda s, x: bc_lib.start(bc, config, s, x))(state, obs)
    fit = jax.jit(lambda s, o, x, a, keys: bc_lib.steps(bc, config, s, o, x, a, keys))
    diag = jax.jit(lambda s, x, a: bc_lib.diagnostics(bc, config, s, x, a))
    evaluate = policy_evaluator(eval_env, config, cfg["eval"]["num_steps"] or None)

    run_dir = io.make_run_dir(cfg["run"]["root"], cfg["run"]["prefix"] or f"bc-{eval_env.name}")
    io.write_config(run_dir, cfg)
    bar = ProgressBar(bc.steps, desc=f"bc {eval_env.name}", score_key="score_det")
    step_keys = jax.random.split(k_fit, bc.steps)  # one key per step, whatever the chunking
    t0 = time.time()
    done = 0
    finite, finite_step = state, 0  # the newest policy known to be finite, and its step
    with interruptible(run_dir), io.MetricsWriter(os.path.join(run_dir, "metrics.jsonl")) as log, bar:
        for n in _chunks(bc.steps, cfg["run"]["eval_every"]):
            state, opt_state, nlls = fit(state, opt_state, obs, action, step_keys[done:done + n])
            done += n
            if not finite_lanes(state)[0]:  # diverged: keep the last finite policy, and say so
                io.save_pytree(os.path.join(run_dir, POLICY_FILE), finite)
                first = first_nonfinite({"nll": nlls}, done - n + 1)
                where = f"; the first non-finite metric: nll at step {first[1]}" if first else ""
                raise Diverged(f"behavioural cloning diverged: the policy is not finite after step {done}{where}. "
                               f"{run_dir} keeps {POLICY_FILE} of step {finite_step}, the last finite one, and "
                               "metrics.jsonl; start a new run with changed settings (e.g. a smaller "
                               "bc.learning_rate)")
            finite, finite_step = state, done
            ev = evaluate(state, k_eval)
            if random_return is None:  # the uniform random policy's return, measured once
                random_return = ev["random_return"]
            record = {"step": done, "nll": float(np.mean(jax.device_get(nlls))),
                      **{k: float(v) for k, v in jax.device_get(diag(state, obs, action)).items()},
                      "return_det": ev["return_deterministic"], "return_stoch": ev["return_stochastic"],
                      "score_det": float(normalized_score(ev["return_deterministic"], random_return, expert_return)),
                      "score_stoch": float(normalized_score(ev["return_stochastic"], random_return, expert_return))}
            log.write(record)
            bar.update(done, record["score_det"])
    io.save_pytree(os.path.join(run_dir, POLICY_FILE), state)
    records = io.read_metrics(os.path.join(run_dir, "metrics.jsonl"))
    io.plot_learning_curve(records, os.path.join(run_dir, "learning_curve.png"), CURVE_KEYS, x="step",
                           title=f"BC on {eval_env.name}")
    summary = {
        "run_dir": run_dir, "env": eval_env.name, "algorithm": "bc", "steps": done,
        **{k: v for k, v in records[-1].items() if k != "step"},
        "episodes": ev["episodes"], "expert_return": float(expert_return), "random_return": float(random_return),
        "transitions": int(obs.shape[0]), "demo_episodes": int(len(meta["episode_lengths"])),
        "demos_path": cfg["demos"]["path"],
        "train_seconds": round(time.time() - t0, 2),
    }
    io.write_json(os.path.join(run_dir, "summary.json"), summary)
    return summary
