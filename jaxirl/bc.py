"""Behavioural cloning: maximum-likelihood fitting of the PPO policy to demonstrations (Pomerleau 1991).

``fit`` maximises ``(1/M) Σ log π_θ(a_i | s_i)`` over the demonstrated pairs with Adam, minibatches drawn
uniformly, in one ``lax.scan``; optional entropy bonus and L2 penalty:

    loss(θ) = −E_demos[log π_θ(a|s)] − ent_coef · E_demos[H[π_θ(·|s)]] + ½ l2 · ‖θ‖²

(``θ`` in the L2 term: the policy network's weights, not a state-independent ``log_std``.)

With ``fit_std = False`` (the default) only the mean of a Gaussian head learns: the log standard deviation
keeps its initial value (a state-independent parameter receives no gradient). On a deterministic expert's
demonstrations the maximum-likelihood std goes to its floor, leaving no exploration to a generator that
starts from the cloned policy; with a fixed std the loss is, up to constants, the squared error of the mean
(for ``tanh_gaussian`` in the pre-squash space ``atanh(a)``, actions clipped as in :func:`jaxirl.nets.log_prob`).

The observation normaliser of the policy is set from the demonstrations' observations first (when the
PPO config normalises observations), so the cloned policy sees its inputs on the scale PPO will use.

Use: as a baseline (:func:`fit`, then evaluate the policy) or as the warm start of an adversarial run's
generator (``TrainConfig.bc``, ``bc:`` section of ``jaxirl train``): the generator then starts from the
cloned policy instead of a random one, as in GAIL-with-BC-initialisation (e.g. Jena et al. 2020,
"Augmenting GAIL with BC for sample efficient imitation learning"). The critic is not pre-trained.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jaxirl import nets
from jaxirl.rl import ppo

__all__ = ["BCConfig", "fit", "start", "steps", "diagnostics", "prepare_actions", "split", "has_term", "term_weight"]

_STATIC = dict(pytree_node=False)


@struct.dataclass
class BCConfig:
    """Behavioural-cloning settings. ``steps`` = 0 turns it off (the warm start of an adversarial run).

    ``learning_rate``, ``ent_coef``, ``l2`` and ``coef`` are traced (vmappable); ``steps``, ``batch_size``,
    ``fit_std``, ``validation_fraction`` and ``coef_decay_iterations`` are static. ``validation_fraction``
    holds out the last ``⌈fraction · M⌉`` demonstrated transitions (in a ``jaxirl.data`` file, stored episode
    after episode, the end of the file: the cut can fall inside an episode, whose first part is then trained on)
    from the gradient steps; their mean negative log-likelihood is reported as ``val_nll``.

    ``coef`` (adversarial runs only): weight of a behavioural-cloning term ``−E_demos[log π(a|s)]`` (log std
    held fixed) added to every PPO minibatch loss of the generator, on as many demonstrated pairs as the
    minibatch has — the policy is pulled towards the demonstrations while the adversarial reward trains it
    (GAIL + BC, Jena et al. 2020, who also decay the weight); ``coef_decay_iterations = D > 0`` decays it
    linearly to 0 over the first ``D`` iterations. ``coef = 0`` (default): no term, nothing computed.
    """

    steps: int = struct.field(default=0, **_STATIC)
    batch_size: int = struct.field(default=256, **_STATIC)
    learning_rate: float = 1e-3
    ent_coef: float = 0.0
    l2: float = 0.0
    fit_std: bool = struct.field(default=False, **_STATIC)
    validation_fraction: float = struct.field(default=0.0, **_STATIC)
    coef: float = 0.0
    coef_decay_iterations: int = struct.field(default=0, **_STATIC)

    def validate(self) -> "BCConfig":
        for name, lo in (("steps", 0), ("batch_size", 1), ("coef_decay_iterations", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"bc.{name}: expected an int >= {lo}, got {v!r}")
        if not isinstance(self.fit_std, bool):
            raise ValueError(f"bc.fit_std: expected true or false, got {self.fit_std!r}")
        f = self.validation_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 <= f < 1.0:
            raise ValueError(f"bc.validation_fraction: expected a number in [0, 1), got {f!r}")
        for name, positive in (("learning_rate", True), ("ent_coef", False), ("l2", False), ("coef", False)):
            v = getattr(self, name)
            if isinstance(v, jax.core.Tracer):
                continue
            a = np.asarray(v, np.float64)
            if not np.all(np.isfinite(a)) or (np.any(a <= 0) if positive else np.any(a < 0)):
                want = "> 0" if positive else ">= 0"
                raise ValueError(f"bc.{name}: expected a finite number {want}, got {v!r}")
        return self


def has_term(config: BCConfig) -> bool:
    """Whether the generator's loss gets the BC term: ``coef`` is not a concrete 0 (a traced or array value —
    a sweep — counts as on). Static, so a run without it computes nothing for it."""
    c = config.coef
    return not (isinstance(c, (int, float, np.number)) and float(c) == 0.0)


def term_weight(config: BCConfig, iteration) -> jax.Array:
    """The BC term's weight at ``iteration`` (0-based): ``coef``, decayed linearly over ``coef_decay_iterations``."""
    if config.coef_decay_iterations <= 0:
        return jnp.asarray(config.coef, jnp.float32)
    return config.coef * jnp.clip(1.0 - iteration / config.coef_decay_iterations, 0.0, 1.0)


def split(config: BCConfig, num: int) -> int:
    """The number of demonstrated transitions used for the gradient steps (the rest are held out)."""
    held = int(np.ceil(round(config.validation_fraction * num, 9)))  # 0.07 × 1600 is 112.00000000000001 in floats
    if num - held < 1:
        raise ValueError(f"bc.validation_fraction: {config.validation_fraction} leaves no training transition of {num}")
    return num - held


def start(config: BCConfig, ppo_config: ppo.PPOConfig, state: ppo.PPOState, obs: jax.Array):
    """The state and optimiser state a fit starts from: the observation normaliser set from the training part of
    ``obs`` (when the PPO config normalises observations; the held-out transitions stay unseen) and a fresh Adam
    state for the actor. :func:`steps` continues from them; :func:`fit` does both."""
    config.validate()
    obs = jnp.asarray(obs)
    n_train = split(config, obs.shape[0])
    if ppo_config.normalize_obs:
        state = state.replace(obs_norm=nets.update(nets.RunningNorm.create(obs.shape[1:]), obs[:n_train]))
    return state, optax.scale_by_adam().init(state.params["actor"])


def prepare_actions(config: BCConfig, state: ppo.PPOState, action: jax.Array) -> jax.Array:
    """The demonstrated actions as the policy's likelihood takes them (discrete: int32 ``(M,)``, also from ``(M, 1)``);
    raises ``ValueError`` for a setting that cannot act (``ent_coef`` with the std fixed)."""
    action = jnp.asarray(action)
    if state.head == "categorical":
        return action.reshape(action.shape[0]).astype(jnp.int32)
    if not config.fit_std and isinstance(config.ent_coef, jax.core.Tracer):
        raise ValueError("bc.ent_coef: swept (traced), but it has no effect while the std is fixed (bc.fit_std: "
                         "false): every lane would be the same run; set bc.fit_std: true")
    if not config.fit_std and np.any(np.asarray(config.ent_coef) != 0):
        raise ValueError(f"bc.ent_coef: {config.ent_coef!r} has no effect while the std is fixed (bc.fit_std: false); "
                         "set bc.fit_std: true, or bc.ent_coef: 0")
    return action


def steps(config: BCConfig, ppo_config: ppo.PPOConfig, state: ppo.PPOState, opt_state, obs: jax.Array,
          action: jax.Array, keys: jax.Array):
    """One Adam step of behavioural cloning per key of ``keys`` ``(N, 2)``, from ``(state, opt_state)`` (see
    :func:`start`). Returns ``(state, opt_state, nll)``, ``nll`` the ``(N,)`` minibatch NLLs. Calls on
    consecutive slices of one key array continue each other exactly (the ``jaxirl bc`` job evaluates between
    them); :func:`fit` uses ``split(key, config.steps)``."""
    config.validate()
    obs = jnp.asarray(obs)
    action = prepare_actions(config, state, action)
    n_train = split(config, obs.shape[0])
    fit_std = config.fit_std
    critic = state.params["critic"]

    def loss_fn(actor, o, a, k):
        nll, out = ppo.demo_nll(ppo_config, state, {"actor": actor, "critic": critic}, o, a, fit_std)
        loss = jnp.mean(nll)
        if fit_std or state.head == "categorical":
            loss = loss - config.ent_coef * jnp.mean(nets.entropy(state.head, out, k))
        # the L2 penalty spares a state-independent log std (it would pull the std towards 1)
        sq = sum(jnp.sum(jnp.square(x)) for path, x in jax.tree_util.tree_leaves_with_path(actor)
                 if "log_std" not in jax.tree_util.keystr(path))
        return loss + 0.5 * config.l2 * sq, jnp.mean(nll)

    opt = optax.scale_by_adam()
    grad = jax.grad(loss_fn, has_aux=True)

    def step(carry, k):
        actor, opt_state = carry
        k_idx, k_ent = jax.random.split(k)
        idx = jax.random.randint(k_idx, (config.batch_size,), 0, n_train)
        grads, nll = grad(actor, obs[idx], action[idx], k_ent)
        updates, opt_state = opt.update(grads, opt_state, actor)
        actor = optax.apply_updates(actor, jax.tree.map(lambda u: -config.learning_rate * u, updates))
        return (actor, opt_state), nll

    (actor, opt_state), nlls = jax.lax.scan(step, (state.params["actor"], opt_state), keys)
    return state.replace(params={"actor": actor, "critic": critic}), opt_state, nlls


def diagnostics(config: BCConfig, ppo_config: ppo.PPOConfig, state: ppo.PPOState, obs: jax.Array,
                action: jax.Array) -> dict:
    """``val_nll`` (mean NLL of the held-out transitions; NaN without a split) and ``mode_mse`` (mean squared
    error of the policy's mode against the demonstrated actions over all of them; for discrete actions the
    error rate)."""
    obs = jnp.asarray(obs)
    action = prepare_actions(config, state, action)
    num = obs.shape[0]
    n_train = split(config, num)
    if n_train < num:
        val_nll = jnp.mean(ppo.demo_nll(ppo_config, state, state.params, obs[n_train:], action[n_train:], True)[0])
    else:
        val_nll = jnp.full((), jnp.nan, jnp.float32)
    mode = ppo.act_deterministic(ppo_config, state, obs)
    if state.head == "categorical":
        mode_mse = jnp.mean((mode != action).astype(jnp.float32))
    else:
        mode_mse = jnp.mean(jnp.square(mode - action))
    return {"val_nll": val_nll, "mode_mse": mode_mse}


def fit(config: BCConfig, ppo_config: ppo.PPOConfig, state: ppo.PPOState, obs: jax.Array, action: jax.Array,
        key: jax.Array):
    """``config.steps`` Adam steps of behavioural cloning on ``(obs, action)`` ``(M, ...)``, starting from ``state``.

    Returns ``(state, metrics)``: the PPO state with the fitted actor (critic and PPO optimiser state
    untouched, the observation normaliser set from the training part of ``obs``) and scalar metrics ``nll`` (mean over the last
    10 % of the steps' minibatches), ``val_nll`` (held-out transitions; NaN without a split), ``mode_mse``
    (mean squared error of the policy's mode against the demonstrated actions over all ``M``; for discrete
    actions the error rate). Pure; ``jax.vmap`` over keys or traced config fields works.
    """
    config.validate()
    prepare_actions(config, state, action)  # refuses an entropy bonus that cannot act before anything is traced
    state, opt_state = start(config, ppo_config, state, obs)
    nlls = jnp.full((1,), jnp.nan, jnp.float32)
    if config.steps > 0:
        state, _, nlls = steps(config, ppo_config, state, opt_state, obs, action, jax.random.split(key, config.steps))
    tail = max(1, config.steps // 10)
    return state, {"nll": jnp.mean(nlls[-tail:]), **diagnostics(config, ppo_config, state, obs, action)}
