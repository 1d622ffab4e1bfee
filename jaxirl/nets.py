"""Networks and distributions: an MLP, policy heads switched by a static name, a running normaliser.

Policy heads (the network outputs a flat "distribution parameter" vector; every function below takes
``(head, out)`` and follows one code path switched by the static ``head`` string):

* ``"gaussian"``: diagonal Gaussian, ``out = (mean, log_std)``; actions unbounded (the env clips them).
* ``"tanh_gaussian"``: ``a = tanh(u)``, ``u ~ N(mean, std)``; by the change of variables
  ``log π(a) = log N(u) - Σ_i log(1 - tanh(u_i)^2)`` (Haarnoja et al. 2018, SAC, appendix C), with
  ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))`` evaluated stably.
* ``"categorical"``: ``out`` are logits over discrete actions; actions are int32 indices.

A policy's own samples keep their *draw* (:func:`sample_raw`: the pre-squash ``u`` of a tanh-Gaussian, else the
action) so their log π can be evaluated exactly later (:func:`raw_log_prob`); :func:`log_prob` of an action alone
(e.g. a demonstration's) works the draw back from it, ``atanh`` of the action clipped inside ``(−1, 1)``.

:class:`RunningNorm` tracks mean and variance of a stream of batches with the parallel update of
Chan, Golub & LeVeque (1979); it is generic (observations, reward-model inputs).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct
from jax.scipy.special import log_ndtr

HEADS = ("gaussian", "tanh_gaussian", "categorical")
ACTIVATIONS: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "silu": nn.silu,
    "leaky_relu": nn.leaky_relu,
}
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
_TANH_EPS = 1e-6  # actions are clipped to ±(1 - eps) before atanh in log_prob


@jax.custom_vjp
def bound_log_std(log_std: jax.Array) -> jax.Array:
    """``clip(log_std, LOG_STD_MIN, LOG_STD_MAX)``, with a gradient that can bring a value back from outside.

    A plain clip has zero gradient outside the bounds, so a log-std parameter that an optimiser step (Adam's
    momentum) carried past a bound stayed there for good, whatever the loss asked. Here the gradient passes
    inside the bounds and, outside, wherever a descent step (``x − lr · g``, the library's losses are all
    minimised) moves the value back towards them; the part that would push it further out is dropped. (A
    ``custom_vjp``: reverse-mode only — ``jax.jvp``/``jacfwd`` through a policy raise; nothing here uses them.)
    """
    return jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)


def _bound_fwd(log_std):
    return bound_log_std(log_std), log_std


def _bound_bwd(log_std, g):
    inside = (log_std >= LOG_STD_MIN) & (log_std <= LOG_STD_MAX)
    back = ((log_std > LOG_STD_MAX) & (g > 0)) | ((log_std < LOG_STD_MIN) & (g < 0))
    return (jnp.where(inside | back, g, jnp.zeros_like(g)),)


bound_log_std.defvjp(_bound_fwd, _bound_bwd)


def check_head(head: str) -> None:
    if head not in HEADS:
        raise ValueError(f"policy_head: expected one of {', '.join(HEADS)}, got {head!r}")


def check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}")


def _scaled_init(gain: float):
    """Truncated-normal weights with variance ``gain² / fan_in``."""
    return nn.initializers.variance_scaling(gain**2, "fan_in", "truncated_normal")


class MLP(nn.Module):
    """Fully connected network ``hidden -> out_dim``.

    Weights are drawn with variance ``gain² / fan_in`` (He et al. 2015 for the hidden layers, gain √2);
    ``out_scale`` is the gain of the last layer (small for policy outputs, so the initial policy is close
    to uniform / zero-mean). Orthogonal initialisation is deliberately not used: it calls a LAPACK QR,
    and batched QR under ``jax.vmap`` (e.g. vmapping a training run over seeds) can deadlock jaxlib's
    CPU thread pool on small machines.
    """

    hidden: Sequence[int]
    out_dim: int
    activation: str = "tanh"
    out_scale: float = 1.0

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width, kernel_init=_scaled_init(math.sqrt(2.0)))(x))
        return nn.Dense(self.out_dim, kernel_init=_scaled_init(self.out_scale))(x)


class PolicyNet(nn.Module):
    """Maps observations to the distribution parameters of ``head``.

    Gaussian heads output ``(mean, log_std)`` concatenated; ``log_std`` is a learned state-independent
    parameter unless ``state_dependent_std`` (then a second output of the MLP), clipped to
    ``[LOG_STD_MIN, LOG_STD_MAX]`` (:func:`bound_log_std`: a value past a bound can still be trained back).
    The categorical head outputs ``num_actions`` logits.
    """

    head: str
    action_dim: int
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"
    state_dependent_std: bool = False
    init_log_std: float = 0.0

    @nn.compact
    def __call__(self, obs):
        if self.head == "categorical":
            return MLP(self.hidden, self.action_dim, self.activation, out_scale=0.01)(obs)
        if self.state_dependent_std:
            out = MLP(self.hidden, 2 * self.action_dim, self.activation, out_scale=0.01)(obs)
            mean, log_std = jnp.split(out, 2, axis=-1)
            log_std = bound_log_std(log_std + self.init_log_std)  # per state: each its own value
        else:
            mean = MLP(self.hidden, self.action_dim, self.activation, out_scale=0.01)(obs)
            log_std_param = self.param(
                # float32 like the Dense layers' params (the default dtype is float64 under jax_enable_x64)
                "log_std", nn.initializers.constant(self.init_log_std, dtype=jnp.float32), (self.action_dim,)
            )
            # bounded before the broadcast: the rule acts on the parameter's summed gradient, not per sample
            log_std = jnp.broadcast_to(bound_log_std(log_std_param), mean.shape)
        return jnp.concatenate([mean, log_std], axis=-1)


def _split(out):
    mean, log_std = jnp.split(out, 2, axis=-1)
    return mean, log_std


def _normal_log_density(u, mean, log_std):
    """Per-dimension ``log N(u; mean, exp(log_std)^2)``."""
    z = (u - mean) * jnp.exp(-log_std)
    return -0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)


def _normal_log_prob(u, mean, log_std):
    return jnp.sum(_normal_log_density(u, mean, log_std), axis=-1)


def _log1m_tanh_sq(u):
    """``log(1 - tanh(u)^2)`` without cancellation for large ``|u|``."""
    return 2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u))


def sample(head: str, out: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Draw an action and its log-probability from the distribution ``out`` of ``head`` (see :func:`sample_raw`)."""
    action, _, logp = sample_raw(head, out, key)
    return action, logp


def sample_raw(head: str, out: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(action, raw, log π)``: an action, the draw it came from, and its exact log-probability.

    ``raw`` is the pre-squash ``u`` of a ``tanh_gaussian`` head (``action = tanh(u)``) and the action itself for the
    other heads; :func:`raw_log_prob` of it gives back ``log π`` exactly. A rollout stores it so that PPO's update
    (and AIRL's log π of policy samples) evaluate the density of the draw that was made: recomputing it from the
    action, ``atanh`` of it clipped inside ``(−1, 1)`` (:func:`log_prob`), loses ``u`` where the action saturates
    (float32 ``tanh(u)`` is 1 within the clip for ``|u| ≳ 7``, imprecise from ``|u| ≈ 5``) and misplaces the
    density there by nats (over 100 at |u| = 20). (Brax's PPO keeps its ``raw_action`` for the same reason.)"""
    if head == "categorical":
        action = jax.random.categorical(key, out, axis=-1).astype(jnp.int32)
        return action, action, log_prob(head, out, action)
    mean, log_std = _split(out)
    u = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
    action = u if head == "gaussian" else jnp.tanh(u)
    return action, u, raw_log_prob(head, out, u)


def raw_log_prob(head: str, out: jax.Array, raw: jax.Array) -> jax.Array:
    """``log π`` of the action drawn as ``raw`` (:func:`sample_raw`): for ``tanh_gaussian`` the density of
    ``a = tanh(u)`` computed from ``u`` itself, ``log N(u) − Σ_i log(1 − tanh(u_i)²)``, exact for every ``u``;
    :func:`log_prob` for the other heads (``raw`` is the action)."""
    if head != "tanh_gaussian":
        return log_prob(head, out, raw)
    mean, log_std = _split(out)
    return _normal_log_prob(raw, mean, log_std) - jnp.sum(_log1m_tanh_sq(raw), axis=-1)


def raw_action(head: str, action: jax.Array) -> jax.Array:
    """The ``raw`` draw behind an action of ``head`` as far as the action tells it: ``atanh`` of the action clipped
    to ``[−1 + 1e-6, 1 − 1e-6]`` for ``tanh_gaussian`` (e.g. demonstrated actions), the action for the other heads.
    ``raw_log_prob(head, out, raw_action(head, a)) == log_prob(head, out, a)``."""
    if head != "tanh_gaussian":
        return action
    return jnp.arctanh(jnp.clip(action, -1.0 + _TANH_EPS, 1.0 - _TANH_EPS))


def log_prob(head: str, out: jax.Array, action: jax.Array) -> jax.Array:
    """``log π(action)`` under the distribution ``out`` of ``head`` (leading dims preserved); for ``tanh_gaussian``
    from ``atanh`` of the action clipped inside ``(−1, 1)`` (:func:`raw_action`) — use :func:`raw_log_prob` of the
    stored draw for the policy's own samples."""
    if head == "categorical":
        logp_all = jax.nn.log_softmax(out, axis=-1)
        if jnp.ndim(action) == out.ndim and jnp.shape(action)[-1] == 1:  # (..., 1) indices: not a batch axis
            action = jnp.asarray(action)[..., 0]
        lead = jnp.broadcast_shapes(out.shape[:-1], jnp.shape(action))
        logp_all = jnp.broadcast_to(logp_all, lead + out.shape[-1:])
        idx = jnp.broadcast_to(jnp.asarray(action, jnp.int32), lead)[..., None]
        return jnp.take_along_axis(logp_all, idx, axis=-1)[..., 0]
    mean, log_std = _split(out)
    if head == "gaussian":
        return _normal_log_prob(action, mean, log_std)
    return raw_log_prob(head, out, raw_action(head, action))


def clipped_log_prob(out: jax.Array, action: jax.Array, low: float = -1.0, high: float = 1.0) -> jax.Array:
    """``log π`` of the action a ``gaussian`` policy ``out`` EXECUTES when the environment clips it to
    ``[low, high]``: the censored Gaussian, per dimension ``log P(u ≤ low)`` at or below ``low``, ``log P(u ≥ high)``
    at or above ``high`` (Gaussian tail masses, :func:`jax.scipy.special.log_ndtr`), the Gaussian density in
    between; summed over dimensions — the clipped-action likelihood of Fujita & Maeda 2018 ("Clipped Action
    Policy Gradient"). (A density and probability masses in one sum — a log-likelihood of the
    executed action, not a density w.r.t. one measure.) Unlike the raw Gaussian's, its ``−E[log π]`` cannot grow
    without bound by widening the Gaussian past the action bounds: the mass piles up at the bounds and the
    interior's share vanishes, so an entropy bonus built on it (AIRL's ``f − β log π``) stops rewarding
    ever-larger standard deviations whose extra spread the environment clips away."""
    mean, log_std = _split(out)
    inv_std = jnp.exp(-log_std)
    lo = log_ndtr((low - mean) * inv_std)  # log P(u <= low)
    hi = log_ndtr((mean - high) * inv_std)  # log P(u >= high)
    per_dim = jnp.where(action <= low, lo, jnp.where(action >= high, hi, _normal_log_density(action, mean, log_std)))
    return jnp.sum(per_dim, axis=-1)


def squash_log_det(head: str, action: jax.Array) -> jax.Array:
    """``Σ_i log(1 - a_i^2)`` for ``tanh_gaussian`` (a scalar 0 for the other heads), with :func:`log_prob`'s clipping.

    ``log_prob(head, out, a) + squash_log_det(head, a)`` is the density of ``u = atanh(a)`` under the
    pre-squash Gaussian: the change-of-variables term removed. :func:`raw_squash_log_det` does the same from ``u``.
    """
    if head != "tanh_gaussian":
        return jnp.zeros((), jnp.float32)
    return raw_squash_log_det(head, raw_action(head, action))


def raw_squash_log_det(head: str, raw: jax.Array) -> jax.Array:
    """``Σ_i log(1 − tanh(u_i)²)`` of a ``tanh_gaussian`` draw ``u`` (0 for the other heads):
    ``raw_log_prob(head, out, u) + raw_squash_log_det(head, u)`` is the Gaussian log-density of ``u``."""
    if head != "tanh_gaussian":
        return jnp.zeros((), jnp.float32)
    return jnp.sum(_log1m_tanh_sq(raw), axis=-1)


def entropy(head: str, out: jax.Array, key: jax.Array) -> jax.Array:
    """Entropy of the distribution (exact for ``gaussian``/``categorical``).

    For ``tanh_gaussian`` it has no closed form; ``H = H[N] + E_u[Σ log(1 - tanh(u)^2)]`` and the
    expectation is estimated with one reparameterised sample (unbiased, differentiable).
    """
    if head == "categorical":
        logp = jax.nn.log_softmax(out, axis=-1)
        return -jnp.sum(jnp.exp(logp) * logp, axis=-1)
    mean, log_std = _split(out)
    h_normal = jnp.sum(log_std + 0.5 * (1.0 + math.log(2 * math.pi)), axis=-1)
    if head == "gaussian":
        return h_normal
    u = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
    return h_normal + jnp.sum(_log1m_tanh_sq(u), axis=-1)


def mode(head: str, out: jax.Array) -> jax.Array:
    """The deterministic action: the mean (``gaussian``), ``tanh(mean)``, or the most likely index."""
    if head == "categorical":
        return jnp.argmax(out, axis=-1).astype(jnp.int32)
    mean, _ = _split(out)
    return mean if head == "gaussian" else jnp.tanh(mean)


@struct.dataclass
class RunningNorm:
    """Running mean/variance of vectors of shape ``shape`` (``count`` = number of samples seen)."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def create(cls, size) -> "RunningNorm":
        shape = (size,) if isinstance(size, int) else tuple(size)
        return cls(jnp.zeros(shape, jnp.float32), jnp.ones(shape, jnp.float32), jnp.zeros((), jnp.float32))


def update(norm: RunningNorm, batch: jax.Array) -> RunningNorm:
    """Fold a batch ``(..., *shape)`` into the statistics (Chan et al. 1979 parallel combination).

    With ``n_a, μ_a, M2_a`` the old and ``n_b, μ_b, M2_b`` the batch statistics, ``δ = μ_b − μ_a``:
    ``μ = μ_a + δ n_b / n``, ``M2 = M2_a + M2_b + δ² n_a n_b / n``, ``n = n_a + n_b``.
    """
    x = batch.reshape((-1,) + norm.mean.shape).astype(jnp.float32)
    n_b = jnp.asarray(x.shape[0], jnp.float32)
    mean_b = jnp.mean(x, axis=0)
    var_b = jnp.var(x, axis=0)
    n = norm.count + n_b
    delta = mean_b - norm.mean
    mean = norm.mean + delta * n_b / n
    m2 = norm.var * norm.count + var_b * n_b + delta**2 * norm.count * n_b / n
    return RunningNorm(mean=mean, var=m2 / n, count=n)


def normalize(norm: RunningNorm, x: jax.Array, clip: float = 10.0, eps: float = 1e-8,
              min_var: float = 1e-6) -> jax.Array:
    """``clip((x − mean) / sqrt(var + eps), −clip, clip)``; before any update (mean 0, var 1) only the clip acts.

    A dimension whose running variance is at most ``min_var`` (a standard deviation of 0.001: a constant input,
    such as the 6 zero entries of Brax humanoid's observation) is centred but not scaled: dividing by
    ``sqrt(0 + eps)`` multiplied it by 10⁴, which turned a speck of rounding into a clipped ±10 input and made
    a gradient penalty taken with respect to the raw inputs ~10⁸ times too strong per such dimension (the
    discriminator then did not learn). Every shipped demonstration set's smallest per-dimension standard
    deviation is ≥ 0.02, far above the threshold. The scale steps from 1 to ~1000 at the threshold (a dimension
    whose variance grows past it, e.g. a contact force that starts at zero, is then scaled as before); dimensions just
    above it (std 0.001–0.01) still weigh 10⁴–10⁶ in a raw-input gradient penalty, as any small-spread input does."""
    scale = jnp.where(norm.var > min_var, jax.lax.rsqrt(norm.var + eps), 1.0)
    return jnp.clip((x - norm.mean) * scale, -clip, clip)
