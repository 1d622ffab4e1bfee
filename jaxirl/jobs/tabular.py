"""The tabular MaxEnt IRL job: gridworld → soft-optimal expert demos → MaxEnt IRL → run folder.

``main(config_path, overrides)`` loads the YAML config (``configs/maxent_gridworld.yaml``; keys and types
are checked against :data:`DEFAULTS`), builds the gridworld, samples demonstrations from the expert's
soft-optimal policy (Ziebart et al. 2008) for ``reward_scale × true reward``, runs
:func:`~jaxirl.tabular.maxent.maxent_irl` (or the sampled variant) as one jitted scan, and writes
``root/tabular-<timestamp>/`` with ``config.yaml``, ``metrics.jsonl`` (every ``log_every`` steps:
iteration, loss, evd, correlation, epic), ``reward.npy`` (the learned reward per state, ``np.load``),
``summary.json`` and ``figure.png``; a run whose reward stops being finite ends with ``jaxirl.jobs.Diverged`` (exit
status 3). (With ``env.discount: 1`` and state-only rewards, as shipped, EPIC's canonical reward is
``r(s') − E r``, so EPIC is ``sqrt((1 − ρ)/2)`` of the correlation ρ: a separate metric only for γ < 1.)
"""

from __future__ import annotations

import os
import sys
import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxirl.config import check_folder, check_seed, finite_number, load_config
from jaxirl.io import MetricsWriter, make_run_dir, write_config, write_json
from jaxirl.jobs import Diverged, first_nonfinite
from jaxirl.metrics import epic_distance, expected_value_difference, pearson
from jaxirl.tabular.builders import gridworld
from jaxirl.tabular.demos import empirical_initial, sample_trajectories
from jaxirl.tabular.maxent import check_arguments, expert_state_visitation, maxent_irl, maxent_irl_sampled, maxent_loss
from jaxirl.tabular.soft_vi import soft_value_iteration

DEFAULTS = {
    "env": {"size": 10, "slip": 0.1, "discount": 1.0, "horizon": 20, "num_reward_cells": 4, "features": "onehot"},
    "expert": {"reward_scale": 3.0, "temperature": 1.0, "num_demos": 500},
    "irl": {
        "model": "linear", "sampled": False, "num_samples": 64, "learning_rate": 0.1, "optimizer": "adam",
        "num_steps": 200, "temperature": 1.0, "hidden": [64, 64], "l2": 0.1, "log_every": 20,
    },
    "run": {"seed": 0, "root": "runs"},
}


def _positive(config: dict, dotted: str) -> None:
    section, key = dotted.split(".")
    value = config[section][key]
    if not finite_number(value) or not value > 0:
        raise ValueError(f"config key '{dotted}': expected a finite positive value, got {value!r}")


def _figure(path: str, size: int, true_reward, learned_reward, records) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, r, title in ((axes[0], true_reward, "true reward"), (axes[1], learned_reward, "learned reward")):
        im = ax.imshow(np.asarray(r).reshape(size, size), cmap="viridis")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.046)
    its = [r["iteration"] for r in records]
    (h1,) = axes[2].plot(its, [r["loss"] for r in records], label="loss (α·NLL)")
    axes[2].set_xlabel("iteration")
    axes[2].set_ylabel("loss")
    twin = axes[2].twinx()
    (h2,) = twin.plot(its, [r["evd"] for r in records], color="C1", label="EVD")
    twin.set_ylabel("expected value difference")
    axes[2].set_title("learning curve")
    axes[2].legend(handles=[h1, h2], loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(config_path: str | None, overrides: Sequence[str] = ()) -> dict:
    """Run the job; returns the summary dict (also written to ``summary.json``). Bad config → ValueError."""
    config = load_config(config_path, overrides, DEFAULTS)
    for key in ("expert.reward_scale", "expert.temperature", "expert.num_demos", "irl.num_samples"):
        _positive(config, key)
    env, ex, irl, run = config["env"], config["expert"], config["irl"], config["run"]
    check_seed("run.seed", run["seed"])
    check_folder("run.root", run["root"])
    start = time.time()
    k_env, k_demo, k_irl = jax.random.split(jax.random.key(run["seed"]), 3)
    try:
        problem = gridworld(env["size"], env["slip"], env["discount"], env["horizon"], "random",
                            features=env["features"], num_reward_cells=env["num_reward_cells"], key=k_env)
    except ValueError as err:
        raise ValueError(f"config section 'env': {err}") from None
    if problem.mdp.horizon is None:
        raise ValueError("config key 'env.horizon': the tabular job needs a finite horizon (demonstrations are episodes)")
    kwargs = dict(model=irl["model"], learning_rate=irl["learning_rate"], num_steps=irl["num_steps"],
                  temperature=irl["temperature"], hidden=tuple(irl["hidden"]), optimizer=irl["optimizer"],
                  l2=irl["l2"], log_every=irl["log_every"])
    try:  # before the expert's soft VI and the demonstrations compile
        check_arguments(problem.mdp, problem.features, **kwargs)
    except ValueError as err:
        raise ValueError(f"config section 'irl': {err}") from None
    S = problem.mdp.num_states
    expert = soft_value_iteration(problem.mdp, ex["reward_scale"] * problem.reward, ex["temperature"]).policy
    if not bool(jnp.all(jnp.isfinite(expert))):  # e.g. reward_scale 1e38: the soft values overflow float32
        raise ValueError(f"expert.reward_scale: the expert's soft value iteration overflowed (reward_scale "
                         f"{ex['reward_scale']!r} / temperature {ex['temperature']!r} times the gridworld's reward); "
                         "expected a smaller ratio")
    run_dir = make_run_dir(run["root"], "tabular")  # before the IRL: a root that cannot be made loses nothing
    write_config(run_dir, config)
    demos = sample_trajectories(problem.mdp, expert, k_demo, ex["num_demos"])
    mdp = problem.mdp.replace(initial=empirical_initial(demos, S))  # compare from the demos' start states
    try:
        if irl["sampled"]:
            result = maxent_irl_sampled(mdp, problem.features, demos, k_irl, num_samples=irl["num_samples"], **kwargs)
        else:
            result = maxent_irl(mdp, problem.features, demos, k_irl, **kwargs)
    except ValueError as err:
        raise ValueError(f"config section 'irl': {err}") from None

    mu_e = expert_state_visitation(mdp, demos)
    history = result.reward_history
    losses = jax.vmap(lambda r: maxent_loss(mdp, r, mu_e, irl["temperature"]))(history)
    evds = jax.vmap(lambda r: expected_value_difference(problem.mdp, problem.reward, r))(history)
    corrs = jax.vmap(lambda r: pearson(problem.reward, r))(history)
    epics = jax.vmap(lambda r: epic_distance(problem.reward, r, mdp=problem.mdp))(history)
    zero_evd = float(expected_value_difference(problem.mdp, problem.reward, jnp.zeros(S)))
    records = [
        {"iteration": (i + 1) * irl["log_every"], "loss": float(losses[i]), "evd": float(evds[i]),
         "correlation": float(corrs[i]), "epic": float(epics[i])}
        for i in range(history.shape[0])
    ]
    seconds = time.time() - start

    with MetricsWriter(os.path.join(run_dir, "metrics.jsonl")) as writer:
        writer.write_many(records)
    bad = first_nonfinite({k: np.array([r[k] for r in records]) for k in ("loss", "evd", "correlation")}, 0)
    if bad is not None or not bool(jnp.all(jnp.isfinite(result.reward))):  # before anything is drawn from it
        at = f"; the first non-finite metric: {bad[0]} at iteration {records[bad[1]]['iteration']}" if bad else ""
        raise Diverged(f"MaxEnt IRL diverged: the learned reward is not finite{at}. {run_dir} keeps metrics.jsonl; "
                       "start a new run with a smaller irl.learning_rate")
    np.save(os.path.join(run_dir, "reward.npy"), np.asarray(result.reward))  # the learned reward per state
    _figure(os.path.join(run_dir, "figure.png"), env["size"], problem.reward, result.reward, records)
    final = records[-1]
    summary = {"run_dir": run_dir, "iterations": irl["num_steps"], "loss": final["loss"], "evd": final["evd"],
               "evd_zero_reward": zero_evd, "correlation": final["correlation"], "epic": final["epic"],
               "seconds": seconds}
    write_json(os.path.join(run_dir, "summary.json"), summary)
    print(f"tabular MaxEnt IRL {env['size']}x{env['size']} ({irl['model']}): {irl['num_steps']} steps, "
          f"loss {final['loss']:.4f}, EVD {final['evd']:.4f} (zero reward {zero_evd:.4f}), "
          f"corr {final['correlation']:.3f}, EPIC {final['epic']:.3f}, {seconds:.1f}s -> {run_dir}",
          file=sys.stderr)  # stdout carries the CLI's JSON summary only
    return summary
