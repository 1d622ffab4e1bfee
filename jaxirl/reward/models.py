"""Learned reward models: a static structure (:class:`RewardModel`) plus a params pytree (:class:`RewardParams`).

Three built-in kinds, one code path switched by the static ``kind``, and kinds of one's own
(:func:`register_reward_kind`):

* ``"mlp"``: a plain reward network ``r(s)``, ``r(s, a)``, ``r(s, a, s')`` or ``r(s, s')`` (``inputs`` =
  ``"s"``, ``"sa"``, ``"sas"``, ``"ss"``: what the network reads, left to right, the second ``s`` being ``s'``).
* ``"gail"``: the GAIL discriminator of Ho & Ermon (2016) as a *logit* network ``ℓ(s, a)`` (or of what ``inputs``
  names) with
  ``D = σ(ℓ)`` the probability that a sample is the expert's (same ``inputs`` choices, default ``"sa"``;
  ``"ss"``, a discriminator of state transitions that never reads the action, is GAIfO's, Torabi et al. 2018,
  "Generative Adversarial Imitation from Observation").
* ``"airl"``: the AIRL discriminator score of Fu et al. (2018), eq. 4 / §5::

      f(s, a, s') = g(s[, a]) + γ h(s') − h(s)

  with ``g`` the reward approximator (state-only, ``inputs="s"``, or state-action, ``inputs="sa"``) and
  ``h`` a state potential (reward shaping, Ng et al. 1999). At a *terminated* transition the next state
  is absorbing and ``h(s')`` counts as 0. The reward to re-use after training is ``g``.

Discrete actions (int indices) are one-hot encoded; continuous ones are used as given. With
``normalize=True`` observations (``s`` and ``s'``) pass through a :class:`jaxirl.nets.RunningNorm` whose
statistics live in ``RewardParams.norm`` and are updated with :func:`update_norm` (not by gradients).

With ``absorbing=True`` the model also learns one scalar, ``net["absorbing"]``: its score (GAIL logit,
AIRL ``f``) for the absorbing state that follows every terminated episode (Kostrikov et al. 2019, DAC; see
:mod:`jaxirl.objectives.absorbing`). All absorbing states look alike, so one number is the whole of what a
network with an "absorbing" input flag would learn about them. The score is ``absorbing_scale`` times that
parameter: Adam moves a bare scalar by about the learning rate per step, far slower than a network output
(which sums the moves of many weights), so the scale sets how fast the absorbing state's score can follow
the live states' scores (about ``absorbing_scale × learning rate`` per discriminator update).

Only ``RewardParams.net`` is trained; :func:`reward_fn` turns ``(model, params)`` into a plain callable
``(obs, action, next_obs) -> reward`` for user code.

A kind of one's own (:class:`RewardKind`, :func:`register_reward_kind`) brings its network's ``init`` and
``score`` (and, optionally, the reward to re-use after training); the library keeps the rest — encoding, input
normalisation, the absorbing state's score, saving and loading — so an objective of one's own
(:func:`jaxirl.objectives.register_objective`) can train a network that is neither GAIL's nor AIRL's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxirl import nets

INPUTS = ("sa", "s", "sas", "ss")  # what a network reads, left to right: s, a, then s' (the second s)
KINDS = {"mlp": INPUTS, "gail": INPUTS, "airl": ("s", "sa")}  # the built-in kinds
DEFAULT_INPUTS = {"mlp": "sa", "gail": "sa", "airl": "s"}
GAIL_REWARDS = ("gail", "logit", "log_d")
# score of the absorbing state = DEFAULT_ABSORBING_SCALE x its parameter unless a model says otherwise: the score
# has to travel a few units (log of the expert's over the policy's termination rate) within a run
DEFAULT_ABSORBING_SCALE = 10.0


@struct.dataclass
class RewardInputs:
    """Encoded model inputs with leading batch dims: float obs, float (one-hot) actions, next obs, done."""

    obs: jax.Array
    action: jax.Array
    next_obs: jax.Array
    terminated: jax.Array


@struct.dataclass
class RewardParams:
    """``net``: trainable flax params (``{"score": ..., "potential": ...}``); ``norm``: input statistics."""

    net: Any
    norm: Optional[nets.RunningNorm]


@struct.dataclass
class RewardModel:
    """Static description of a reward model (no array leaves; hashable, safe to close over in jit)."""

    kind: str = struct.field(pytree_node=False)
    obs_size: int = struct.field(pytree_node=False)
    action_size: int = struct.field(pytree_node=False)  # width of the encoded action
    discrete: bool = struct.field(pytree_node=False, default=False)
    inputs: str = struct.field(pytree_node=False, default="sa")
    hidden: tuple = struct.field(pytree_node=False, default=(64, 64))
    potential_hidden: tuple = struct.field(pytree_node=False, default=(64, 64))
    activation: str = struct.field(pytree_node=False, default="relu")
    normalize: bool = struct.field(pytree_node=False, default=False)
    absorbing: bool = struct.field(pytree_node=False, default=False)
    absorbing_scale: float = struct.field(pytree_node=False, default=DEFAULT_ABSORBING_SCALE)

    def validate(self) -> "RewardModel":
        allowed = kind_inputs(self.kind)
        if self.inputs not in allowed:
            raise ValueError(
                f"inputs: for a {self.kind!r} reward expected one of {', '.join(allowed)}, got {self.inputs!r}"
            )
        for name in ("obs_size", "action_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        for name in ("hidden", "potential_hidden"):
            v = getattr(self, name)
            if not isinstance(v, tuple) or not all(isinstance(w, int) and w > 0 for w in v):
                raise ValueError(f"{name}: expected a tuple of positive ints (may be empty), got {v!r}")
        nets.check_activation(self.activation)
        check_absorbing_scale(self.absorbing_scale)
        return self


class RewardKind(NamedTuple):
    """A reward network of one's own, for :func:`register_reward_kind` (the built-in kinds are ``"mlp"``,
    ``"gail"`` and ``"airl"``). Pure functions of a :class:`RewardModel` ``model`` (its sizes, ``inputs``,
    ``hidden``, ``potential_hidden``, ``activation``: the ``discriminator.*`` settings, which the kind may read or
    ignore) and of ``net``, the trained parameters:

    * ``init(model, key) -> net``: a dict (any mapping) of parameter pytrees; the key ``"absorbing"`` is the
      library's (the absorbing state's score when ``discriminator.absorbing``);
    * ``score(model, net, inputs, discount) -> array``: the network's output, one float per sample, for a batch of
      :class:`RewardInputs` (leading batch dims; observations already normalised when ``model.normalize``; discrete
      actions one-hot; ``terminated`` 1 where the transition ended the episode). It is what an objective's ``logit``
      reads through :func:`score`: a discriminator logit for GAIL-like objectives, ``f`` for AIRL-like ones.
      ``discount`` is the run's γ (the generator's; a traced value). An AIRL-like ``f = g + γ h(s') − h(s)`` must
      zero ``h(s')`` itself where ``inputs.terminated`` (the next state is absorbing): ``g + γ (1 − terminated)
      h(s') − h(s)``, as the built-in ``"airl"`` does;
    * ``inputs``: the ``model.inputs`` values it takes, out of :data:`INPUTS`, the first its default;
      :func:`input_vector` and :func:`input_width` give what they name, concatenated;
    * ``learned(model, net, inputs, which, discount) -> array`` and ``rewards``, optional: the reward to re-use after
      training (:func:`reward_fn`, ``jaxirl.load_reward``; inputs as ``score``'s, ``discount`` the run's γ) and the
      names ``which`` may take, the first its default. Without ``learned`` the score is read as a discriminator
      logit and re-used as GAIL's is (``which`` in :data:`GAIL_REWARDS`, by default the form the generator was
      trained with). Reward transfer with a learned absorbing state (``jaxirl.jobs.train.load_transfer_reward``)
      values it as GAIL's form of its score for a logit kind, as its score itself (AIRL's ``f``) for a kind with
      ``learned``.

    Both outputs are checked (one float per sample) when a trainer is made, before anything compiles.
    """

    name: str
    init: Callable
    score: Callable
    inputs: tuple = INPUTS
    learned: Optional[Callable] = None
    rewards: tuple = ()


_REGISTERED_KINDS: dict = {}  # name -> RewardKind (register_reward_kind)
_KIND_ORIGINS: dict = {}  # name -> (module name, file) of the code that registered it


def kind_origin(kind: str) -> tuple:
    """``(module, file)`` of the code that registered the reward kind ``kind`` (``("__main__", script)`` for a script
    run as such); ``(None, None)`` if unknown."""
    return _KIND_ORIGINS.get(kind, (None, None))


def kind_names() -> tuple:
    """The built-in reward kinds and those registered in this process."""
    return (*KINDS, *_REGISTERED_KINDS)


def registered_kind(kind: str) -> Optional[RewardKind]:
    """The :class:`RewardKind` registered as ``kind``; ``None`` for a built-in one; an unknown name is a ``ValueError``
    listing the known ones."""
    if kind in KINDS:
        return None
    if kind not in _REGISTERED_KINDS:
        from jaxirl.plugins import imported_registrations

        raise ValueError(f"kind: expected one of {', '.join(kind_names())}, got {kind!r}"
                         f"{imported_registrations('reward kinds')} (a reward network of one's own is known once "
                         "jaxirl.reward.register_reward_kind has run in the process: for the jaxirl command, in a "
                         "module that the config's `imports` lists)")
    return _REGISTERED_KINDS[kind]


def kind_inputs(kind: str) -> tuple:
    """The ``inputs`` values a reward kind takes (the first is its default)."""
    custom = registered_kind(kind)
    return KINDS[kind] if custom is None else custom.inputs


def register_reward_kind(kind: RewardKind, replace: bool = False) -> RewardKind:
    """Make ``kind`` a reward network that :func:`make_reward_model` builds and an objective's ``reward_kind`` may
    name (:func:`jaxirl.objectives.register_objective`; register the kind first). Its fields are checked here; the
    built-in names, and a name that a kind registered by other code has taken (unless ``replace``), are refused; the
    same module registering it again (a reload) replaces it. The registration lasts for
    the process: for the ``jaxirl`` command, make it in a module that the config's ``imports`` lists, which
    ``jaxirl eval``, a resume and ``jaxirl.load_reward`` of the run import again. Returns ``kind``."""
    if not isinstance(kind, RewardKind):
        raise ValueError(f"kind: expected a jaxirl.reward.RewardKind, got {type(kind).__name__}")
    if not isinstance(kind.name, str) or not kind.name.isidentifier():
        raise ValueError(f"name: expected an identifier (letters, digits, '_'), got {kind.name!r}")
    if kind.name in KINDS:
        raise ValueError(f"name: {kind.name!r} is a built-in reward kind; choose another name")
    for field in ("init", "score"):
        if not callable(getattr(kind, field)):
            raise ValueError(f"{field}: expected a function, got {getattr(kind, field)!r}")
    if not isinstance(kind.inputs, tuple) or not kind.inputs or not set(kind.inputs) <= set(INPUTS) \
            or len(set(kind.inputs)) != len(kind.inputs):
        raise ValueError(f"inputs: expected a non-empty tuple of distinct names out of {', '.join(INPUTS)} (the first "
                         f"is the default), got {kind.inputs!r}")
    if kind.learned is None:
        if kind.rewards != ():
            raise ValueError(f"rewards: names of learned rewards need a learned function; without one the score is a "
                             f"logit re-used as GAIL's ({', '.join(GAIL_REWARDS)}): expected (), got {kind.rewards!r}")
    else:
        if not callable(kind.learned):
            raise ValueError(f"learned: expected a function or None, got {kind.learned!r}")
        rw = kind.rewards
        if not isinstance(rw, tuple) or not rw or not all(isinstance(w, str) and w for w in rw):
            raise ValueError(f"rewards: expected a non-empty tuple of names for `which` (the first is the default), "
                             f"got {rw!r}")
    from jaxirl.plugins import register

    register(_REGISTERED_KINDS, _KIND_ORIGINS, kind.name, kind, replace, "a reward kind")
    return kind


def example_batch(model: "RewardModel"):
    """``(params, inputs)`` to trace a model's functions with (``jax.eval_shape``): its parameters' shapes and a batch
    of two zero :class:`RewardInputs`."""
    params = jax.eval_shape(lambda k: init(model, k), jax.random.PRNGKey(0))
    inputs = RewardInputs(jnp.zeros((2, model.obs_size)), jnp.zeros((2, model.action_size)),
                          jnp.zeros((2, model.obs_size)), jnp.zeros((2,)))
    return params, inputs


def check_kind(model: "RewardModel", discount=0.99) -> None:
    """For a kind of one's own: trace (``jax.eval_shape``: nothing runs or compiles) its ``init``, its ``score`` and
    each of its ``learned`` rewards on a batch of two samples, so that a wrong output (not one float per sample) or a
    failing function is a ``ValueError`` before a run starts. Built-in kinds: nothing to do."""
    custom = registered_kind(model.kind)
    if custom is None:
        return
    params, inputs = example_batch(model)
    jax.eval_shape(lambda p: score(model, p, inputs, discount), params)
    for which in (custom.rewards if custom.learned is not None else ()):
        jax.eval_shape(lambda p, w=which: learned_reward(model, p, inputs, w, discount), params)


def is_logit_network(model: "RewardModel") -> bool:
    """The model's score is a discriminator logit whose re-usable reward is one of :data:`GAIL_REWARDS` (GAIL's
    network, and a kind of one's own without a ``learned`` function)."""
    if model.kind == "gail":
        return True
    custom = registered_kind(model.kind)
    return custom is not None and custom.learned is None


def check_absorbing_scale(x):
    """A finite number > 0 (a static setting: the model's structure), else a ``ValueError`` naming it."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x) or x <= 0:
        raise ValueError(f"absorbing_scale: expected a finite number > 0, got {x!r}")


def make_reward_model(
    kind: str,
    env: Any = None,
    *,
    inputs: Optional[str] = None,
    obs_size: Optional[int] = None,
    action_size: Optional[int] = None,
    num_actions: Optional[int] = None,
    hidden=(64, 64),
    potential_hidden=None,
    activation: str = "relu",
    normalize: bool = False,
    absorbing: bool = False,
    absorbing_scale: float = DEFAULT_ABSORBING_SCALE,
) -> RewardModel:
    """Build and validate a :class:`RewardModel`; sizes come from ``env`` (a ``VecEnv``) or the keywords.

    For a discrete action space pass ``num_actions`` (or an env with ``discrete=True``): actions are then
    one-hot encoded. ``potential_hidden`` (AIRL's ``h``) defaults to ``hidden``. ``absorbing``: also learn
    the score of the absorbing state after termination, ``absorbing_scale`` times its parameter (see the
    module docstring).
    """
    allowed = kind_inputs(kind)  # (an unknown kind: a ValueError naming the known ones)
    if env is not None:
        obs_size = env.observation_size
        num_actions = env.num_actions if env.discrete else None
        action_size = env.action_size
    if num_actions is not None:
        discrete, action_size = True, num_actions
    else:
        discrete = False
    hidden = tuple(hidden)
    model = RewardModel(
        kind=kind,
        obs_size=obs_size,
        action_size=action_size,
        discrete=discrete,
        inputs=(DEFAULT_INPUTS[kind] if kind in KINDS else allowed[0]) if inputs is None else inputs,
        hidden=hidden,
        potential_hidden=hidden if potential_hidden is None else tuple(potential_hidden),
        activation=activation,
        normalize=bool(normalize),
        absorbing=bool(absorbing),
        absorbing_scale=absorbing_scale,
    )
    return model.validate()


def _score_net(model: RewardModel) -> nets.MLP:
    return nets.MLP(hidden=model.hidden, out_dim=1, activation=model.activation)


def _potential_net(model: RewardModel) -> nets.MLP:
    return nets.MLP(hidden=model.potential_hidden, out_dim=1, activation=model.activation)


def input_width(model: RewardModel) -> int:
    """The width of :func:`input_vector`: what ``model.inputs`` names (``s``, ``a``, then ``s'``), concatenated."""
    return sum(model.action_size if part == "a" else model.obs_size for part in model.inputs)


def init(model: RewardModel, key: jax.Array) -> RewardParams:
    """Initial parameters (and identity input statistics when ``model.normalize``)."""
    k_score, k_pot = jax.random.split(key)
    custom = registered_kind(model.kind)
    if custom is not None:
        net = custom.init(model, k_score)
        if not isinstance(net, Mapping):
            raise ValueError(f"init: reward kind {model.kind!r} must return a dict of parameter trees, got "
                             f"{type(net).__name__}")
        if "absorbing" in net:
            raise ValueError(f"init: reward kind {model.kind!r} returned the key 'absorbing', which is the library's "
                             "(the absorbing state's score); name its parameters otherwise")
        net = dict(net)
    else:
        net = {"score": _score_net(model).init(k_score, jnp.zeros((1, input_width(model))))}
    if model.kind == "airl":
        net["potential"] = _potential_net(model).init(k_pot, jnp.zeros((1, model.obs_size)))
    if model.absorbing:
        net["absorbing"] = jnp.zeros((), jnp.float32)
    norm = nets.RunningNorm.create(model.obs_size) if model.normalize else None
    return RewardParams(net=net, norm=norm)


def encode(model: RewardModel, obs, action, next_obs=None, terminated=None) -> RewardInputs:
    """Encode raw ``(obs, action, next_obs, terminated)`` (leading batch dims) as float model inputs."""
    obs = jnp.asarray(obs, jnp.float32)
    action = jnp.asarray(action)
    if model.discrete:
        if action.ndim == obs.ndim:  # (..., 1) index arrays
            action = action[..., 0]
        action = jax.nn.one_hot(action.astype(jnp.int32), model.action_size, dtype=jnp.float32)
    else:
        action = action.astype(jnp.float32)
    next_obs = obs if next_obs is None else jnp.asarray(next_obs, jnp.float32)
    if terminated is None:
        terminated = jnp.zeros(obs.shape[:-1], jnp.float32)
    return RewardInputs(obs, action, next_obs, jnp.asarray(terminated, jnp.float32))


def encode_transition(model: RewardModel, transition) -> RewardInputs:
    """:func:`encode` applied to a :class:`jaxirl.envs.base.Transition`."""
    return encode(model, transition.obs, transition.action, transition.next_obs, transition.terminated)


def update_norm(model: RewardModel, params: RewardParams, inputs: RewardInputs) -> RewardParams:
    """Fold the observations of a batch into the input statistics (no-op without ``normalize``)."""
    if not model.normalize:
        return params
    norm = nets.update(params.norm, jnp.concatenate([inputs.obs, inputs.next_obs], axis=0))
    return params.replace(norm=norm)


def _norm_obs(model: RewardModel, params: RewardParams, x):
    return nets.normalize(params.norm, x) if model.normalize else x


def normalized(model: RewardModel, params: RewardParams, inputs: RewardInputs) -> RewardInputs:
    """``inputs`` with both observations passed through the model's input normaliser (as given without one)."""
    if not model.normalize:
        return inputs
    return inputs.replace(obs=_norm_obs(model, params, inputs.obs), next_obs=_norm_obs(model, params, inputs.next_obs))


def _apply(module, variables, x):
    lead = x.shape[:-1]
    return module.apply(variables, x.reshape((-1, x.shape[-1])))[:, 0].reshape(lead)


def _score_input(model: RewardModel, s, a, s_next):
    parts = {"s": (s,), "sa": (s, a), "sas": (s, a, s_next), "ss": (s, s_next)}[model.inputs]
    return jnp.concatenate(parts, axis=-1)


def input_vector(model: RewardModel, inputs: RewardInputs) -> jax.Array:
    """What ``model.inputs`` names, concatenated on the last axis (``"sa"``: ``[s, a]``; ``"ss"``: ``[s, s']``), of
    ``inputs`` as given (a kind's ``score`` receives them normalised already): ``(..., input_width(model))``."""
    return _score_input(model, inputs.obs, inputs.action, inputs.next_obs)


def airl_terms(model: RewardModel, params: RewardParams, inputs: RewardInputs, discount) -> dict:
    """AIRL's pieces ``g``, ``h(s)``, ``h(s')`` and ``f = g + γ (1 − terminated) h(s') − h(s)`` (Fu et al. 2018)."""
    if model.kind != "airl":
        raise ValueError(f"airl_terms: needs an 'airl' reward model, got kind {model.kind!r}")
    s = _norm_obs(model, params, inputs.obs)
    s_next = _norm_obs(model, params, inputs.next_obs)
    g = _apply(_score_net(model), params.net["score"], _score_input(model, s, inputs.action, s_next))
    pot = _potential_net(model)
    h = _apply(pot, params.net["potential"], s)
    h_next = _apply(pot, params.net["potential"], s_next)
    f = g + discount * (1.0 - inputs.terminated) * h_next - h
    return {"g": g, "h": h, "h_next": h_next, "f": f}


def _checked(kind: RewardKind, field: str, out, inputs: RewardInputs):
    """A kind's output must have one value per sample, ``inputs.obs.shape[:-1]`` (a static check, so also while
    tracing): a ``(B, 1)`` score would broadcast against ``(B,)`` terms such as ``log π`` into ``(B, B)``."""
    want = tuple(inputs.obs.shape[:-1])
    if tuple(jnp.shape(out)) != want or not jnp.issubdtype(jnp.result_type(out), jnp.floating):
        raise ValueError(f"{field}: reward kind {kind.name!r} must return one float per sample, shape {want}, got "
                         f"shape {tuple(jnp.shape(out))} of dtype {jnp.result_type(out)}")
    return out


def _custom_discount(kind: str, discount, what: str):
    if discount is None:
        raise ValueError(f"discount: {what} of reward kind {kind!r} (one of one's own) may read the run's γ, so it "
                         "takes it: pass discount= (the generator's discount; jaxirl.load_reward passes the run's)")
    return discount


def score(model: RewardModel, params: RewardParams, inputs: RewardInputs, discount=None) -> jax.Array:
    """The network's output: ``r`` (``"mlp"``), the logit ``ℓ`` (``"gail"``), ``f`` (``"airl"``) or a registered
    kind's ``score``.

    ``discount``: the run's γ (a traced value), AIRL's shaping γ (0.99 when not given) and what a kind of one's own
    receives (required for one); the built-in ``"mlp"`` and ``"gail"`` networks do not read it.
    """
    if model.kind == "airl":
        return airl_terms(model, params, inputs, 0.99 if discount is None else discount)["f"]
    custom = registered_kind(model.kind)
    if custom is not None:
        discount = _custom_discount(model.kind, discount, "the score")
        return _checked(custom, "score", custom.score(model, params.net, normalized(model, params, inputs), discount),
                        inputs)
    s = _norm_obs(model, params, inputs.obs)
    s_next = _norm_obs(model, params, inputs.next_obs)
    return _apply(_score_net(model), params.net["score"], _score_input(model, s, inputs.action, s_next))


def absorbing_score(model: RewardModel, params: RewardParams) -> jax.Array:
    """The learned score of the absorbing state (GAIL: its logit; AIRL: ``f``, with ``h`` of it fixed at 0)."""
    if not model.absorbing:
        raise ValueError("absorbing_score: the reward model was built with absorbing=False")
    return model.absorbing_scale * params.net["absorbing"]


def default_which(reward_type: str, source: str, kind: str = "gail") -> str:
    """The re-usable form of a logit network's reward: the one its generator was trained with,
    ``reward_type``, which must be one this module computes (:data:`GAIL_REWARDS`). An objective of one's own
    with another reward type is refused rather than silently replaced by the logit: name a form with
    ``which``. ``source`` names the run or objective in the message, ``kind`` the reward model's kind."""
    if reward_type not in GAIL_REWARDS:
        custom = "" if kind in KINDS else (
            f" (reward kind {kind!r} has no `learned` function, so its score is read as a discriminator logit and "
            "re-used in GAIL's forms; a kind whose score is not a logit, e.g. AIRL's f, brings `learned` and `rewards`)")
        raise ValueError(f"which: {source} trained its generator on reward_type {reward_type!r}, which the "
                         f"re-usable reward does not compute; name one of {', '.join(GAIL_REWARDS)} (a form of the "
                         "discriminator's logit: which= in Python, train.reward_which= for jaxirl expert), or "
                         f"compute yours from which='logit'{custom}")
    return reward_type


def _check_which(model: RewardModel, which: Optional[str]) -> str:
    if is_logit_network(model):
        allowed = GAIL_REWARDS
    else:
        custom = registered_kind(model.kind)
        allowed = {"mlp": ("r",), "airl": ("g",)}[model.kind] if custom is None else custom.rewards
    which = allowed[0] if which is None and not is_logit_network(model) else which
    which = "logit" if which is None else which
    if which not in allowed:
        raise ValueError(f"which: for a {model.kind!r} reward model expected one of {', '.join(allowed)}, got {which!r}")
    return which


def learned_reward(model: RewardModel, params: RewardParams, inputs: RewardInputs, which: Optional[str] = None,
                   discount=None):
    """The reward to re-use after training (see :func:`reward_fn` for ``which`` and ``discount``)."""
    which = _check_which(model, which)
    if model.kind == "mlp":
        return score(model, params, inputs)
    if model.kind == "airl":
        return airl_terms(model, params, inputs, 0.0)["g"]
    custom = registered_kind(model.kind)
    if custom is not None and custom.learned is not None:
        discount = _custom_discount(model.kind, discount, "the learned reward")
        return _checked(custom, "learned",
                        custom.learned(model, params.net, normalized(model, params, inputs), which, discount), inputs)
    logit = score(model, params, inputs, discount)
    return {"gail": jax.nn.softplus(logit), "logit": logit, "log_d": jax.nn.log_sigmoid(logit)}[which]


def _check_shapes(model: RewardModel, obs, action, next_obs) -> None:
    """Shapes (static, so also under jit) of a learned reward's inputs: ``obs (..., obs_size)``, ``action
    (..., action_size)`` (discrete: ``(...)`` or ``(..., 1)`` indices), ``next_obs`` like ``obs``."""
    obs_shape, act_shape = tuple(jnp.shape(obs)), tuple(jnp.shape(action))
    if len(obs_shape) < 1 or obs_shape[-1] != model.obs_size:
        raise ValueError(f"obs: expected shape (..., {model.obs_size}), got {obs_shape}")
    lead = obs_shape[:-1]
    wanted = [lead, lead + (1,)] if model.discrete else [lead + (model.action_size,)]
    if act_shape not in wanted:
        raise ValueError(f"action: expected shape {' or '.join(map(str, wanted))} for obs of shape {obs_shape}, "
                         f"got {act_shape}")
    if next_obs is not None and tuple(jnp.shape(next_obs)) != obs_shape:
        raise ValueError(f"next_obs: expected the shape of obs {obs_shape}, got {tuple(jnp.shape(next_obs))}")
    if model.discrete:  # indices: a float would be truncated, one out of range one-hot encodes to all zeros
        if not jnp.issubdtype(jnp.result_type(action), jnp.integer):
            raise ValueError(f"action: discrete actions are integer indices, got dtype {jnp.result_type(action)}")
        if not isinstance(action, jax.core.Tracer):  # values known: check them (not under jit)
            from jaxirl.data import index_problem

            if problem := index_problem(action, model.action_size):
                raise ValueError(f"action: {problem}")


def reward_fn(model: RewardModel, params: RewardParams, which: Optional[str] = None, discount=None):
    """A plain callable ``(obs, action, next_obs=None) -> reward`` (leading batch dims allowed).

    ``"mlp"``: the network ``r``. ``"airl"``: the disentangled reward ``g(s[, a])`` of Fu et al. (2018).
    ``"gail"``: a reward derived from the discriminator, ``which`` = ``"logit"`` (default, ``log D −
    log(1 − D)``), ``"gail"`` (``−log(1 − D)``) or ``"log_d"`` (``log D``); GAIL does not recover a
    reward, this is the signal its generator was trained on. A kind of one's own (:class:`RewardKind`): its
    ``learned`` reward by one of its ``rewards`` names, or without one GAIL's forms of its score; it needs
    ``discount``, the run's γ (``jaxirl.load_reward`` and ``trainer.reward_fn`` pass it), which the built-in kinds'
    learned rewards do not read. ``action`` may be ``None`` where a built-in network never reads it (``inputs`` ``s``
    or ``ss``, e.g. GAIfO's D(s, s') learned from observations only).
    """
    _check_which(model, which)
    if registered_kind(model.kind) is not None:
        _custom_discount(model.kind, discount, "the learned reward")

    def fn(obs, action, next_obs=None):
        if next_obs is None and model.inputs in ("sas", "ss") and model.kind != "airl":
            raise ValueError(f"next_obs: this reward model takes ({', '.join(model.inputs[:-1])}, s') inputs; pass "
                             "next_obs")
        if action is None:
            if "a" in model.inputs or registered_kind(model.kind) is not None:
                why = (f"this reward model's inputs {model.inputs!r} include it" if "a" in model.inputs else
                       f"reward kind {model.kind!r} is one of one's own, which may read it")
                raise ValueError(f"action: None, but {why}; pass the actions")
            lead = tuple(jnp.shape(obs))[:-1]
            action = (jnp.zeros(lead, jnp.int32) if model.discrete else jnp.zeros(lead + (model.action_size,)))
        _check_shapes(model, obs, action, next_obs)
        return learned_reward(model, params, encode(model, obs, action, next_obs), which, discount)

    return fn
