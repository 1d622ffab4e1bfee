"""Proximal Policy Optimization as a pure-function generator (Schulman et al. 2017).

Advantages use GAE (Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized
Advantage Estimation") with the two episode ends kept apart (Pardo et al. 2018):

    δ_t = r_t + γ (1 − terminated_t) V(s'_t) − V(s_t)          s'_t = the TRUE next observation
    A_t = δ_t + γ λ (1 − terminated_t)(1 − truncated_t) A_{t+1}

so a truncated step still bootstraps from the value of its real final observation, a terminated one does
not, and no advantage leaks across an episode boundary. The loss is the clipped surrogate
``−E[min(ρ A, clip(ρ, 1 − ε, 1 + ε) A)]`` with ``ρ = π_θ(a|s)/π_old(a|s)`` (Schulman et al. 2017, eq. 7),
plus ``vf_coef · ½ (V − (A + V_old))²`` minus ``ent_coef · H[π]`` (eq. 9). Two common departures from the
paper, both switchable: rewards are multiplied by ``reward_scale`` before GAE, and with ``normalize_advantages``
(the default) each minibatch's advantages are standardised (zero mean, unit std) before the surrogate — a
practice of the baselines implementations, not part of the paper's algorithm. The ``approx_kl`` metric is the
``E[(ρ − 1) − log ρ]`` estimator (unbiased, non-negative) of KL(π_old ‖ π_θ). Rewards are passed to
:func:`update` separately from the rollout so an IRL step can relabel them with a learned reward.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxirl import nets
from jaxirl.envs.base import Transition, VecEnv
from jaxirl.rl.ppo_config import PPOConfig, check_anneal, check_config, check_shuffle_groups, resolve_head

__all__ = [
    "PPOConfig", "PPOState", "Rollout", "act", "act_deterministic", "act_raw", "check_config", "demo_nll", "episode_stats", "gae",
    "init", "learning_rate_at", "log_prob", "make_train", "minibatches", "policy_output", "raw_log_prob", "resolve_head", "rollout", "update",
    "value",
]


@struct.dataclass
class PPOState:
    """Learner state. ``params = {"actor": ..., "critic": ...}``; ``step`` counts :func:`update` calls."""

    params: Any
    opt_state: Any
    obs_norm: nets.RunningNorm
    step: jax.Array
    head: str = struct.field(pytree_node=False, default="tanh_gaussian")
    action_dim: int = struct.field(pytree_node=False, default=1)


@struct.dataclass
class Rollout:
    """``T`` steps of ``N`` envs; ``next_value = V(transition.next_obs)`` (the true next observation).

    ``raw_action`` is the draw behind each action (:func:`jaxirl.nets.sample_raw`: a tanh-Gaussian policy's
    pre-squash ``u``, else the action); ``log_prob`` its exact log π, which :func:`update` recomputes from it."""

    transition: Transition
    log_prob: jax.Array  # (T, N)
    value: jax.Array  # (T, N)
    next_value: jax.Array  # (T, N)
    raw_action: jax.Array  # (T, N, ...) like transition.action


def _actor(config: PPOConfig, state: PPOState) -> nets.PolicyNet:
    return nets.PolicyNet(
        head=state.head,
        action_dim=state.action_dim,
        hidden=tuple(config.hidden),
        activation=config.activation,
        state_dependent_std=config.state_dependent_std,
        init_log_std=config.init_log_std,
    )


def _critic(config: PPOConfig) -> nets.MLP:
    return nets.MLP(tuple(config.hidden), 1, config.activation, out_scale=1.0)


def _optimizer(config: PPOConfig) -> optax.GradientTransformation:
    # The learning rate is applied by hand in `update`, so it can be a traced (vmapped) value and annealed.
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.scale_by_adam(eps=config.adam_eps))


def _norm_obs(config: PPOConfig, state: PPOState, obs: jax.Array) -> jax.Array:
    obs = obs.astype(jnp.float32)
    return nets.normalize(state.obs_norm, obs) if config.normalize_obs else obs


def init(config: PPOConfig, env: VecEnv, key: jax.Array) -> PPOState:
    """Fresh actor/critic parameters, optimiser state and observation normaliser for ``env``."""
    check_config(config, env)
    head = resolve_head(config, env)
    action_dim = env.num_actions if env.discrete else env.action_size
    state = PPOState(None, None, nets.RunningNorm.create(env.observation_size), jnp.zeros((), jnp.int32), head, action_dim)
    k_actor, k_critic = jax.random.split(key)
    dummy = jnp.zeros((1, env.observation_size), jnp.float32)
    params = {
        "actor": _actor(config, state).init(k_actor, dummy),
        "critic": _critic(config).init(k_critic, dummy),
    }
    return state.replace(params=params, opt_state=_optimizer(config).init(params))


def policy_output(config: PPOConfig, state: PPOState, obs: jax.Array, params=None) -> jax.Array:
    """Distribution parameters of the policy at ``obs`` (see :mod:`jaxirl.nets`)."""
    params = state.params if params is None else params
    return _actor(config, state).apply(params["actor"], _norm_obs(config, state, obs))


def value(config: PPOConfig, state: PPOState, obs: jax.Array, params=None) -> jax.Array:
    """``V(obs)`` with leading dims of ``obs`` kept."""
    params = state.params if params is None else params
    return _critic(config).apply(params["critic"], _norm_obs(config, state, obs))[..., 0]


def act(config: PPOConfig, state: PPOState, obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Sample ``(action, log π(action|obs))``."""
    return nets.sample(state.head, policy_output(config, state, obs), key)


def act_raw(config: PPOConfig, state: PPOState, obs: jax.Array, key: jax.Array):
    """Sample ``(action, raw, log π)`` (:func:`jaxirl.nets.sample_raw`; same draw as :func:`act` with ``key``)."""
    return nets.sample_raw(state.head, policy_output(config, state, obs), key)


def act_deterministic(config: PPOConfig, state: PPOState, obs: jax.Array) -> jax.Array:
    """The mode of the policy (mean, tanh(mean) or argmax)."""
    return nets.mode(state.head, policy_output(config, state, obs))


def log_prob(config: PPOConfig, state: PPOState, obs: jax.Array, action: jax.Array) -> jax.Array:
    """``log π(action|obs)`` (e.g. for AIRL's logit ``f − log π``)."""
    return nets.log_prob(state.head, policy_output(config, state, obs), action)


def raw_log_prob(config: PPOConfig, state: PPOState, obs: jax.Array, raw: jax.Array) -> jax.Array:
    """``log π`` of the policy's own draw ``raw`` (:attr:`Rollout.raw_action`), exact also where actions saturate."""
    return nets.raw_log_prob(state.head, policy_output(config, state, obs), raw)


def rollout(config: PPOConfig, state: PPOState, env: VecEnv, env_state, key: jax.Array):
    """Run the stochastic policy for ``config.num_steps`` steps of all envs (``lax.scan``); an env with a reset
    pool (:meth:`jaxirl.envs.VecEnv.refill`) gets a fresh one first."""
    if hasattr(env, "refill"):
        env_state = env.refill(env_state)

    def step(env_state, k):
        action, raw, logp = act_raw(config, state, env_state.obs, k)
        v = value(config, state, env_state.obs)
        env_state, transition = env.step(env_state, action)
        return env_state, (transition, logp, v, raw)

    env_state, (transition, logp, v, raw) = jax.lax.scan(step, env_state, jax.random.split(key, config.num_steps))
    next_v = value(config, state, transition.next_obs)
    return env_state, Rollout(transition=transition, log_prob=logp, value=v, next_value=next_v, raw_action=raw)


def gae(rewards, values, next_values, terminated, truncated, discount, gae_lambda):
    """Generalised advantage estimates and value targets ``(A, A + V)`` for ``(T, N)`` inputs.

    See the module docstring for the recursion; the last step's advantage is its TD error, bootstrapped
    through ``next_values``.
    """
    not_term = 1.0 - terminated
    deltas = rewards + discount * not_term * next_values - values
    carry_on = discount * gae_lambda * not_term * (1.0 - truncated)

    def back(adv_next, x):
        delta, c = x
        adv = delta + c * adv_next
        return adv, adv

    _, adv = jax.lax.scan(back, jnp.zeros_like(deltas[0]), (deltas, carry_on), reverse=True)
    return adv, adv + values


def demo_nll(config: PPOConfig, state: PPOState, params, obs, action, fit_std: bool = False):
    """Per-pair ``−log π(a|s)`` of demonstrated ``(obs, action)`` ``(M, ...)`` and the distribution parameters.

    ``fit_std=False`` holds a Gaussian head's log std fixed (no gradient through it: a deterministic expert's
    likelihood would shrink the std, and with it PPO's exploration). Discrete actions may be ``(M,)`` or ``(M, 1)``.
    Behavioural cloning (:mod:`jaxirl.bc`) and PPO's BC term both use it."""
    out = policy_output(config, state, obs, params)
    if state.head != "categorical" and not fit_std:  # (categorical: nets.log_prob takes (M,) or (M, 1) indices)
        mean, log_std = jnp.split(out, 2, axis=-1)
        out = jnp.concatenate([mean, jax.lax.stop_gradient(log_std)], axis=-1)
    return -nets.log_prob(state.head, out, action), out


def _loss(config: PPOConfig, state: PPOState, params, batch: dict, key: jax.Array, bc=None):
    out = policy_output(config, state, batch["obs"], params)
    logp = nets.raw_log_prob(state.head, out, batch["raw_action"])  # the draw's own density (Rollout)
    log_ratio = logp - batch["log_prob"]
    ratio = jnp.exp(log_ratio)
    adv = batch["advantage"]
    if config.normalize_advantages:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    clipped = jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_eps)
    policy_loss = -jnp.mean(jnp.minimum(ratio * adv, clipped * adv))
    v = value(config, state, batch["obs"], params)
    value_loss = 0.5 * jnp.mean((v - batch["target"]) ** 2)
    ent = jnp.mean(nets.entropy(state.head, out, key))
    total = policy_loss + config.vf_coef * value_loss - config.ent_coef * ent
    if bc is not None:  # behavioural-cloning term on a batch of demonstrations (jaxirl.bc; Jena et al. 2020)
        bc_obs, bc_action, bc_weight = bc
        bc_nll = jnp.mean(demo_nll(config, state, params, bc_obs, bc_action)[0])
        total = total + bc_weight * bc_nll
    aux = {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": ent,
        "approx_kl": jnp.mean(ratio - 1.0 - log_ratio),
        "clip_fraction": jnp.mean((jnp.abs(ratio - 1.0) > config.clip_eps).astype(jnp.float32)),
    }
    if bc is not None:
        aux["bc_nll"] = bc_nll
    return total, aux


def learning_rate_at(config: PPOConfig, step) -> jax.Array:
    """``learning_rate``, decayed linearly to 0 over ``anneal_lr_updates`` updates when that is > 0."""
    if config.anneal_lr_updates <= 0:
        return jnp.asarray(config.learning_rate, jnp.float32)
    frac = jnp.clip(1.0 - step / config.anneal_lr_updates, 0.0, 1.0)
    return config.learning_rate * frac


def minibatches(data, key: jax.Array, num_minibatches: int, groups: int = 1):
    """One epoch's shuffled minibatches of a rollout: leaves ``(T, N, ...)`` -> ``(num_minibatches, T N / num_minibatches, ...)``.

    Every step of the rollout lands in exactly one minibatch. ``groups = 1``: one permutation of all ``T N``
    steps. ``groups = G``: the envs form ``G`` consecutive blocks, each block's steps are permuted on their
    own, and minibatch ``i`` is the ``i``-th slice of every block, block 0's first — so each minibatch holds
    the same number of steps of every block, and a block's part never needs another block's data (with the
    blocks on different devices, nothing moves between them; ``PPOConfig.shuffle_groups``)."""
    T, N = jax.tree.leaves(data)[0].shape[:2]
    if (T * N) % num_minibatches:
        raise ValueError(f"num_minibatches: must divide num_steps * num_envs = {T * N}, got {num_minibatches}")
    check_shuffle_groups(groups, T, N, num_minibatches, name="groups")

    # One permutation for all leaves, drawn once: drawn per leaf, XLA merged the copies at the top level but not
    # inside update's scanned epochs (one random sort of T*N keys per leaf: 5 per epoch instead of 1).
    if groups == 1:
        perm = jax.random.permutation(key, T * N)
    else:
        perms = jax.vmap(lambda k: jax.random.permutation(k, T * N // groups))(jax.random.split(key, groups))

    def draw(x):
        rest = x.shape[2:]
        if groups == 1:
            flat = x.reshape((T * N,) + rest)
            return flat[perm].reshape((num_minibatches, -1) + rest)
        blocks = x.reshape((T, groups, N // groups) + rest).swapaxes(0, 1).reshape((groups, -1) + rest)
        y = jax.vmap(lambda b, p: b[p])(blocks, perms)
        y = y.reshape((groups, num_minibatches, -1) + rest).swapaxes(0, 1)
        return y.reshape((num_minibatches, -1) + rest)

    return jax.tree.map(draw, data)


def update(config: PPOConfig, state: PPOState, rollout: Rollout, rewards: jax.Array, key: jax.Array, bc=None):
    """``update_epochs × num_minibatches`` clipped-surrogate gradient steps on one rollout.

    ``rewards`` ``(T, N)`` replace the environment rewards (an IRL step passes its learned reward).
    ``bc = (obs, action, weight)`` (demonstrations ``(M, ...)`` and a scalar): every minibatch's loss also gets
    ``weight · (−mean log π(a|s))`` over as many demonstrated pairs, drawn uniformly (the policy's log std
    held fixed in that term) — PPO regularised towards behavioural cloning (:mod:`jaxirl.bc`). The
    observation normaliser is updated from the rollout after the gradient steps (so the stored
    ``log_prob`` values, computed with the old statistics, match the first epoch exactly).
    Returns ``(state, metrics)`` with scalar metrics averaged over all minibatches.
    """
    tr = rollout.transition
    T, N = rollout.value.shape
    batch_size = T * N
    if batch_size % config.num_minibatches:
        raise ValueError(
            f"num_minibatches: must divide num_steps * num_envs = {batch_size}, got {config.num_minibatches}"
        )
    adv, target = gae(
        rewards * config.reward_scale, rollout.value, rollout.next_value,
        tr.terminated, tr.truncated, config.discount, config.gae_lambda,
    )
    data = {"obs": tr.obs, "raw_action": rollout.raw_action, "log_prob": rollout.log_prob, "advantage": adv,
            "target": target}
    optimizer = _optimizer(config)
    lr = learning_rate_at(config, state.step)
    # the actor's share of the step: min(1, update / actor_warmup_updates) (PPOConfig), 1 without a warm-up
    actor_lr = lr if config.actor_warmup_updates <= 0 else lr * jnp.minimum(1.0, state.step / config.actor_warmup_updates)
    loss_grad = jax.value_and_grad(lambda p, b, k, d: _loss(config, state, p, b, k, d), has_aux=True)
    minibatch = batch_size // config.num_minibatches
    if bc is not None:
        bc = (jnp.asarray(bc[0]), jnp.asarray(bc[1]), jnp.asarray(bc[2], jnp.float32))

    def minibatch_step(carry, xs):
        params, opt_state = carry
        batch, k, k_bc = xs
        demo = None
        if bc is not None:
            idx = jax.random.randint(k_bc, (minibatch,), 0, bc[0].shape[0])
            demo = (bc[0][idx], bc[1][idx], bc[2])
        (_, aux), grads = loss_grad(params, batch, k, demo)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        updates = {"actor": jax.tree.map(lambda u: -actor_lr * u, updates["actor"]),
                   "critic": jax.tree.map(lambda u: -lr * u, updates["critic"])}
        params = optax.apply_updates(params, updates)
        aux["grad_norm"] = optax.global_norm(grads)
        return (params, opt_state), aux

    def epoch(carry, k):
        k_perm, k_mb = jax.random.split(k)
        # the BC term's demonstration draws: fold_in(k, 2) is split(k, 3)[2] (JAX's default, partitionable
        # threefry), a sibling of the two keys above, so the other draws are the same with a BC term or without,
        # and a swept BC coef of 0 is the run without one
        k_bc = jax.random.split(jax.random.fold_in(k, 2), config.num_minibatches)
        shuffled = minibatches(data, k_perm, config.num_minibatches, config.shuffle_groups)
        return jax.lax.scan(minibatch_step, carry, (shuffled, jax.random.split(k_mb, config.num_minibatches), k_bc))

    (params, opt_state), aux = jax.lax.scan(
        epoch, (state.params, state.opt_state), jax.random.split(key, config.update_epochs)
    )
    metrics = jax.tree.map(jnp.mean, aux)
    metrics["learning_rate"] = lr
    metrics["actor_learning_rate"] = actor_lr
    obs_norm = nets.update(state.obs_norm, tr.obs) if config.normalize_obs else state.obs_norm
    state = state.replace(params=params, opt_state=opt_state, obs_norm=obs_norm, step=state.step + 1)
    return state, metrics


def episode_stats(env_state) -> dict:
    """Mean return/length of the last completed episode of each env that completed one (0 if none).

    A training-progress figure, not an estimate of the expected return (that is :mod:`jaxirl.rl.evaluate`):
    until every env has completed an episode it counts only the envs whose episodes ended soonest, so early in a
    run it leans to short episodes — for up to two episode lengths with staggered resets, whose cut-short first
    episodes are not counted."""
    has = (env_state.completed > 0).astype(jnp.float32)
    n = jnp.maximum(has.sum(), 1.0)
    return {
        "episode_return": jnp.sum(env_state.last_return * has) / n,
        "episode_length": jnp.sum(env_state.last_length * has) / n,
    }


def make_train(config: PPOConfig, env: VecEnv, num_updates: int) -> Callable:
    """``train(key) -> (state, metrics)``: ``num_updates`` rollouts+updates on the env's TRUE reward.

    Pure, so ``jax.jit(train)`` and ``jax.vmap(train)`` (over keys, or over traced config fields when the
    config is built inside the vmapped function) work. ``metrics`` are stacked over updates.
    """
    check_config(config, env)
    if isinstance(num_updates, bool) or not isinstance(num_updates, int) or num_updates < 1:
        raise ValueError(f"num_updates: expected a positive int, got {num_updates!r}")
    check_anneal(config.anneal_lr_updates, num_updates)

    def train(key):
        k_init, k_env, k_loop = jax.random.split(key, 3)
        state = init(config, env, k_init)
        env_state = env.reset(k_env)

        def one_update(carry, k):
            state, env_state = carry
            k_roll, k_upd = jax.random.split(k)
            env_state, ro = rollout(config, state, env, env_state, k_roll)
            state, metrics = update(config, state, ro, ro.transition.reward, k_upd)
            metrics.update(episode_stats(env_state))
            metrics["reward_mean"] = jnp.mean(ro.transition.reward)
            return (state, env_state), metrics

        (state, _), metrics = jax.lax.scan(one_update, (state, env_state), jax.random.split(k_loop, num_updates))
        return state, metrics

    return train
