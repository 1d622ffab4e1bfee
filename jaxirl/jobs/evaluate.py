"""``jaxirl eval RUN_DIR``: re-evaluate the policy saved in a run folder on the environment's TRUE reward.

Works for the folders of ``jaxirl expert`` and of ``jaxirl train`` with the PPO generator: both hold
``config.yaml`` (with ``env`` and ``ppo`` sections) and ``policy.msgpack`` (a :class:`~jaxirl.rl.ppo.PPOState`).
The policy is run from fresh episodes on ``eval.num_envs`` environments for one episode length
(so each environment completes at least one episode), once with the deterministic action (the mode)
and once sampling; the mean undiscounted returns are reported, with a uniformly random policy's return
for reference (one jitted program for the three), and the normalised scores under the run's own normaliser (the
expert and random returns of its ``summary.json``).  Overrides: ``eval.num_envs``, ``eval.seed``,
``eval.num_steps`` (default: the episode length; a `jaxirl train` run's own ``train.eval_steps`` where it set one),
and ``imports`` (the modules to import first — by default those the run's ``config.yaml`` lists; e.g. after the
module that registers its env moved).  The shared helpers here (building the env and PPO config from a config,
evaluating a policy) are also used by the ``expert`` and ``train`` jobs.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp

from jaxirl import io
from jaxirl.config import (check_seed, merge, parse_overrides, prefix_field, rename_field, struct_defaults,
                           to_struct)
from jaxirl.plugins import import_modules

__all__ = ["main", "ENV_DEFAULTS", "EVAL_DEFAULTS", "make_env", "make_eval_env", "eval_env_section", "ppo_config",
           "load_policy", "evaluate_policy", "policy_evaluator", "random_action", "ppo_defaults", "check_eval_section"]

ENV_DEFAULTS = {"name": "pointmass", "backend": None, "num_envs": 16, "episode_length": 50, "kwargs": {},
                "reset_pool": 0}
EVAL_DEFAULTS = {"num_envs": 16, "seed": 0, "num_steps": 0}  # num_steps 0: one episode length
POLICY_FILE = "policy.msgpack"


def defaults() -> dict:
    """The options of ``jaxirl eval`` and their defaults (a run folder's own ``eval`` section overrides them)."""
    # env_kwargs: the evaluation env's (null: the run's env); imports: null, the run's own
    return {"eval": {**EVAL_DEFAULTS, "env_kwargs": None}, "imports": None}


def ppo_defaults() -> dict:
    from jaxirl.rl.ppo import PPOConfig

    return struct_defaults(PPOConfig)


def make_env(section: Mapping[str, Any], num_envs: int | None = None, kwargs_field: str = "env.kwargs"):
    """A ``VecEnv`` from an ``env`` config section (``num_envs`` overrides the section's); an error about one of the
    constructor arguments names it as ``<kwargs_field>.<name>``."""
    from jaxirl.envs import make

    kwargs = section.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"env.kwargs: expected a mapping of env constructor arguments, got {kwargs!r}")
    try:
        return make(section["name"], int(section["num_envs"] if num_envs is None else num_envs),
                    episode_length=int(section["episode_length"]), backend=section.get("backend"),
                    reset_pool=section.get("reset_pool", 0), **dict(kwargs))
    except ValueError as err:  # make()'s env_kwargs are this section's env.kwargs (or eval.env_kwargs)
        msg = rename_field(err, "env_kwargs", kwargs_field)
        head, _, rest = msg.partition(":")
        if head == section["name"] and head not in kwargs:  # VecEnv's check of what the env returns ("obs2d: ...")
            raise ValueError(f"env {head!r} (env.name):{rest}") from None
        if head in kwargs:  # an env's own check of one argument, e.g. "dt: expected ..."
            msg = f"{kwargs_field}.{msg}"
        raise ValueError(prefix_field("env", msg)) from None


def make_eval_env(env_section: Mapping[str, Any], eval_section: Mapping[str, Any] | None, num_envs: int):
    """The evaluation ``VecEnv``: :func:`eval_env_section`'s env, errors about its arguments named after the field
    they came from (``eval.env_kwargs`` when set, else ``env.kwargs``)."""
    own = (eval_section or {}).get("env_kwargs") is not None
    return make_env(eval_env_section(env_section, eval_section), num_envs=num_envs,
                    kwargs_field="eval.env_kwargs" if own else "env.kwargs")


def check_eval_section(cfg: Mapping[str, Any], section: str = "eval", steps_key: str = "num_steps") -> None:
    """``eval.num_envs >= 1`` and an evaluation window (``<section>.<steps_key>``) of 0 (one episode length) or at
    least one episode length: a shorter one counts only the episodes that end inside it (biased to short ones)
    and, where none does, has no estimate at all."""
    if isinstance(cfg["eval"]["num_envs"], bool) or cfg["eval"]["num_envs"] < 1:
        raise ValueError(f"eval.num_envs: expected an int >= 1, got {cfg['eval']['num_envs']!r}")
    check_seed("eval.seed", cfg["eval"]["seed"])
    steps, limit = cfg[section][steps_key], int(cfg["env"]["episode_length"])
    if isinstance(steps, bool) or steps < 0 or 0 < steps < limit:
        raise ValueError(f"{section}.{steps_key}: expected 0 (one episode length) or a window of at least "
                         f"env.episode_length = {limit} steps, got {steps!r}")


def eval_env_section(env_section: Mapping[str, Any], eval_section: Mapping[str, Any] | None) -> dict:
    """The ``env`` section of the evaluation env: ``eval.env_kwargs``, when set (not null), replaces
    ``env.kwargs`` — e.g. train without early termination, evaluate (and score) on the standard env."""
    kwargs = (eval_section or {}).get("env_kwargs")
    if kwargs is None:
        return dict(env_section)
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"eval.env_kwargs: expected a mapping of env constructor arguments or null, got {kwargs!r}")
    return {**env_section, "kwargs": dict(kwargs)}


def ppo_config(section: Mapping[str, Any], env=None):
    """A validated :class:`~jaxirl.rl.ppo.PPOConfig` from a ``ppo`` config section."""
    from jaxirl.rl import ppo

    config = to_struct(ppo.PPOConfig, section, name="ppo")
    try:
        ppo.check_config(config, env)
    except ValueError as err:
        raise ValueError(prefix_field("ppo", err)) from None
    return config


def acting_config(section: Mapping[str, Any], env):
    """A validated PPO config for acting with (or cloning into) a policy on ``env``: the fields that only shape
    PPO's minibatch update (``num_minibatches``, ``shuffle_groups``, ``normalize_advantages``) are neutralised, so
    that an evaluation env of any size is accepted (they were checked against its ``num_envs``: ``jaxirl eval RUN
    eval.num_envs=3`` was refused for a run trained with 4 minibatches)."""
    return ppo_config({**section, "num_minibatches": 1, "shuffle_groups": 1, "normalize_advantages": False}, env)


def load_policy(path: str, config, env):
    """Restore a saved :class:`~jaxirl.rl.ppo.PPOState` (template built with ``ppo.init`` for ``env``)."""
    from jaxirl.rl import ppo

    template = ppo.init(config, env, jax.random.PRNGKey(0))
    return io.load_pytree(path, template)


def random_action(env, obs: jax.Array, key: jax.Array) -> jax.Array:
    """Uniform random actions: indices for discrete envs, uniform in [-1, 1]^d otherwise."""
    if env.discrete:
        return jax.random.randint(key, obs.shape[:-1], 0, env.num_actions, jnp.int32)
    return jax.random.uniform(key, obs.shape[:-1] + (env.action_size,), minval=-1.0, maxval=1.0)


def policy_evaluator(env, config, num_steps: int | None = None):
    """A jitted ``fn(state, key) -> dict`` of the mean true return of the PPO policy's mode (deterministic), of
    its samples (stochastic) and of the uniformly random policy (the 0 of a normalised score), as host floats.

    The three evaluations are one program: ``jaxirl.rl.evaluate`` (the function) ``vmap``-ped over a policy index
    (0 mode, 1 sample, 2 random) that selects the action. Build it once and call it for every state of a run
    (one compilation)."""
    from jaxirl.rl import ppo
    from jaxirl.rl.evaluate import evaluate

    def run(params_state, mode, k):
        def act_fn(obs, kk):
            det = ppo.act_deterministic(config, params_state, obs)
            sto = ppo.act(config, params_state, obs, kk)[0]
            rnd = random_action(env, obs, kk).astype(det.dtype)
            return jnp.where(mode == 0, det, jnp.where(mode == 1, sto, rnd))

        return evaluate(env, act_fn, k, num_steps)

    batched = jax.jit(lambda s, keys: jax.vmap(run, in_axes=(None, 0, 0))(s, jnp.arange(3), keys))

    def fn(state, key: jax.Array) -> dict:
        out = jax.device_get(batched(state, jax.random.split(key, 3)))
        return {
            "return_deterministic": float(out["mean_return"][0]),
            "return_stochastic": float(out["mean_return"][1]),
            "random_return": float(out["mean_return"][2]),
            "std_deterministic": float(out["std_return"][0]),
            "std_stochastic": float(out["std_return"][1]),
            "episodes": int(out["num_episodes"][0]),
        }

    return fn


def evaluate_policy(env, config, state, key: jax.Array, num_steps: int | None = None) -> dict:
    """Mean true return of the PPO policy's mode, of its samples and of the uniformly random policy: one call of
    :func:`policy_evaluator`."""
    return policy_evaluator(env, config, num_steps)(state, key)


def main(run_dir: str, overrides: Sequence[str] = ()) -> dict:
    """Evaluate ``run_dir``'s saved policy; writes ``eval.json`` into the folder and returns it."""
    if not os.path.isdir(run_dir):
        raise ValueError(f"run folder not found: {run_dir!r}")
    saved = io.read_config(run_dir)
    if not isinstance(saved.get("env"), Mapping) or not isinstance(saved.get("ppo"), Mapping):
        raise ValueError(f"{run_dir!r}: config.yaml has no env/ppo sections; only PPO policies can be evaluated")
    policy_path = os.path.join(run_dir, POLICY_FILE)
    if not os.path.isfile(policy_path):
        raise ValueError(f"{run_dir!r} has no {POLICY_FILE} (the run did not finish, or its generator is not PPO)")
    eval_defaults = {**defaults()["eval"], **dict(saved.get("eval") or {})}  # env_kwargs for every kind of run
    window = (saved.get("train") or {}).get("eval_steps") if isinstance(saved.get("train"), Mapping) else None
    if not eval_defaults.get("num_steps") and isinstance(window, int) and window > 0:
        eval_defaults["num_steps"] = window  # a `jaxirl train` run: the window its evaluations used
    # the saved values, overridden as a fresh section would be (eval.env_kwargs stays nullable: null, {} or merged)
    opts = merge({"eval": eval_defaults, "imports": None}, parse_overrides(overrides), schema=defaults())
    if opts["imports"] is not None:  # this command's own list (the run's modules moved or were renamed)
        import_modules(opts["imports"])
    else:
        import_modules(saved.get("imports") or [], field=f"{run_dir}/config.yaml: imports")  # e.g. its own env
    cfg = opts["eval"]
    check_eval_section({"eval": cfg, "env": saved["env"]})
    env = make_eval_env(saved["env"], cfg, cfg["num_envs"])
    config = acting_config(saved["ppo"], env)
    state = load_policy(policy_path, config, env)
    num_steps = cfg["num_steps"] or None
    result = {"run_dir": run_dir, "env": env.name,
              **evaluate_policy(env, config, state, jax.random.PRNGKey(cfg["seed"]), num_steps), "eval": cfg}
    result.update(_scores(run_dir, result))
    try:
        io.write_json(os.path.join(run_dir, "eval.json"), result)
    except OSError as err:  # a folder one may not write into (shared, read-only, full): the result is still printed
        print(f"jaxirl eval: note: eval.json was not written ({err}); the result is on stdout", file=sys.stderr)
    return result


def _scores(run_dir: str, result: Mapping[str, Any]) -> dict:
    """Normalised scores ``(R − R_random) / (R_expert − R_random)`` of the evaluated returns under the run's own
    normaliser (``expert_return`` and ``random_return`` of its ``summary.json``: for ``jaxirl train`` / ``bc`` runs the
    demonstrations' recorded returns, for an expert its demonstrations' mean — and for an expert trained on a learned
    reward (``train.reward_run``) the reward run's, as its summary scores it); none without a summary."""
    path = os.path.join(run_dir, "summary.json")
    if not os.path.isfile(path):  # an interrupted or diverged run: its returns, no score (said, not left out silently)
        print(f"jaxirl eval: note: {run_dir} has no summary.json (the run did not finish), so no normalised score: "
              "its returns only", file=sys.stderr)
        return {}
    summary = io.read_json(path)
    if "expert_return_of_run" in summary:  # reward transfer: the scale the reward run was scored on
        expert, random = summary.get("expert_return_of_run"), summary.get("random_return_of_run")
    else:
        expert, random = summary.get("expert_return"), summary.get("random_return")
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (expert, random)) or expert == random:
        return {}
    from jaxirl.metrics import normalized_score

    return {"score_deterministic": float(normalized_score(result["return_deterministic"], random, expert)),
            "score_stochastic": float(normalized_score(result["return_stochastic"], random, expert)),
            "normaliser": {"expert_return": expert, "random_return": random, "from": "summary.json"}}
