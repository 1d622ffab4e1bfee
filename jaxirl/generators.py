"""Generators for adversarial IRL: one record of pure functions per forward-RL method.

A :class:`Generator` closes over its config and the (static) env and exposes what the composed training
step (:mod:`jaxirl.train`) needs: ``init``, ``rollout``, ``act``, ``act_deterministic``, ``log_prob``,
``raw_log_prob(state, obs, raw)`` (log π of the policy's own draw, a rollout's ``raw_action``), ``raw_action(action)``
(the draw behind an action as far as the action tells it, e.g. for demonstrations; :func:`jaxirl.nets.raw_action`) and
``update(state, rollout, reward_of, key, bc=None)``, where ``reward_of(obs, action, next_obs, terminated, log_pi, raw)``
is the current learned reward (leading batch dims; ``log_pi`` and ``raw`` may be ``None``) and ``bc = (obs, action, weight)`` an optional
behavioural-cloning term on demonstrations (PPO only). PPO (Schulman et al. 2017) relabels its rollout with
it; the exact soft-VI generator (tabular envs) evaluates it on every one-hot ``(s, a, s')`` and re-solves.
``maxent`` says whether the generator's own objective already contains the entropy term (then AIRL passes
it ``f`` instead of ``f − log π``, Fu et al. 2018). Adding a generator = one more ``_make_*`` function.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax.numpy as jnp

from jaxirl import nets
from jaxirl.rl import ppo
from jaxirl.rl import soft_vi


class Generator(NamedTuple):
    name: str
    maxent: bool
    discount: Any  # the generator's γ (traced); AIRL uses it for its shaping term
    num_steps: int  # rollout length T
    init: Callable
    rollout: Callable
    act: Callable
    act_deterministic: Callable
    log_prob: Callable
    raw_log_prob: Callable
    raw_action: Callable
    update: Callable


def _bind(module, config, env) -> dict:
    """The interface functions every generator module (``ppo``, ``soft_vi``) shares, bound to its
    config and env: ``init``, ``rollout``, ``act``, ``act_deterministic``, ``log_prob``, ``raw_log_prob``."""
    return dict(
        init=lambda key: module.init(config, env, key),
        rollout=lambda state, env_state, key: module.rollout(config, state, env, env_state, key),
        act=lambda state, obs, key: module.act(config, state, obs, key),
        act_deterministic=lambda state, obs: module.act_deterministic(config, state, obs),
        log_prob=lambda state, obs, action: module.log_prob(config, state, obs, action),
        raw_log_prob=lambda state, obs, raw: module.raw_log_prob(config, state, obs, raw),
    )


def _make_ppo(config: ppo.PPOConfig, env) -> Generator:
    ppo.check_config(config, env)
    head = ppo.resolve_head(config, env)

    def update(state, rollout, reward_of, key, bc=None):
        tr = rollout.transition
        rewards = reward_of(tr.obs, tr.action, tr.next_obs, tr.terminated, rollout.log_prob, rollout.raw_action)
        return ppo.update(config, state, rollout, rewards, key, bc=bc)

    return Generator(
        name="ppo",
        maxent=False,
        discount=config.discount,
        num_steps=config.num_steps,
        update=update,
        raw_action=lambda action: nets.raw_action(head, action),
        **_bind(ppo, config, env),
    )


def _make_soft_vi(config: soft_vi.SoftVIConfig, env) -> Generator:
    config.validate()
    soft_vi.check_env(env)
    S, A = env.mdp.num_states, env.mdp.num_actions

    def update(state, rollout, reward_of, key, bc=None):
        del rollout, key, bc  # (a behavioural-cloning term is refused for this generator: TrainConfig.validate)

        def fn(obs, action, next_obs):
            return reward_of(obs, action, next_obs, jnp.zeros(obs.shape[:-1], jnp.float32), None, None)

        return soft_vi.update(config, state, env, soft_vi.reward_table(fn, S, A))

    return Generator(
        name="soft_vi",
        maxent=True,
        discount=env.mdp.discount,
        num_steps=config.num_steps,
        update=update,
        raw_action=lambda action: action,
        **_bind(soft_vi, config, env),
    )


GENERATORS = {ppo.PPOConfig: _make_ppo, soft_vi.SoftVIConfig: _make_soft_vi}
GENERATOR_NAMES = {"ppo": ppo.PPOConfig, "soft_vi": soft_vi.SoftVIConfig}


def make_generator(config, env) -> Generator:
    """The generator for ``config`` (a :class:`~jaxirl.rl.ppo.PPOConfig` or :class:`~jaxirl.rl.soft_vi.SoftVIConfig`)."""
    maker = GENERATORS.get(type(config))
    if maker is None:
        raise ValueError(
            f"generator: expected a config of type {', '.join(c.__name__ for c in GENERATORS)}, "
            f"got {type(config).__name__}"
        )
    return maker(config, env)
