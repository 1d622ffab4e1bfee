"""PPO generator: GAE against a plain loop, policy-head densities, the running normaliser, end-to-end
learning on pointmass, and vmap over keys and over a traced learning rate."""

import math

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import envs, nets
from jaxirl.rl import evaluate, ppo

from helpers import shift_policy_mean


def _gae_loop(r, v, nv, term, trunc, gamma, lam):
    """Textbook GAE per env, written as plain Python loops."""
    T, N = r.shape
    adv = np.zeros((T, N))
    for n in range(N):
        running = 0.0
        for t in reversed(range(T)):
            if term[t, n]:
                delta = r[t, n] - v[t, n]  # absorbing: no value after the end
                running = delta
            elif trunc[t, n]:
                delta = r[t, n] + gamma * nv[t, n] - v[t, n]  # time limit: bootstrap from the true next obs
                running = delta
            else:
                delta = r[t, n] + gamma * nv[t, n] - v[t, n]
                running = delta + gamma * lam * running
            adv[t, n] = running
    return adv


def test_gae_matches_plain_loop():
    rng = np.random.default_rng(0)
    T, N = 17, 5
    r, v, nv = (rng.normal(size=(T, N)) for _ in range(3))
    term = (rng.random((T, N)) < 0.1).astype(np.float32)
    trunc = ((rng.random((T, N)) < 0.15) & (term == 0)).astype(np.float32)
    assert term.sum() > 0 and trunc.sum() > 0
    adv, target = ppo.gae(*(jnp.asarray(x, jnp.float32) for x in (r, v, nv, term, trunc)), 0.97, 0.9)
    expected = _gae_loop(r, v, nv, term, trunc, 0.97, 0.9)
    np.testing.assert_allclose(adv, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(target, expected + v, rtol=1e-5, atol=1e-5)
    # λ = 1, γ = 1, no ends, consistent values (V(s'_t) = V(s_{t+1})): the TD errors telescope to the
    # Monte-Carlo return-to-go + final bootstrap − V.
    nv = np.concatenate([v[1:], nv[-1:]])
    adv1, _ = ppo.gae(jnp.asarray(r), jnp.asarray(v), jnp.asarray(nv), jnp.zeros((T, N)), jnp.zeros((T, N)), 1.0, 1.0)
    mc = np.cumsum(r[::-1], axis=0)[::-1] + nv[-1] - v
    np.testing.assert_allclose(adv1, mc, rtol=1e-4, atol=1e-4)


def test_tanh_gaussian_log_prob_change_of_variables():
    mean, log_std = jnp.array([0.3, -1.2]), jnp.array([-0.5, 0.4])
    out = jnp.concatenate([mean, log_std])
    # Density on a grid: log π(a) = log N(atanh a) − log(1 − a²), per dimension, summed.
    a = jnp.linspace(-0.999, 0.999, 4001)
    grid = jnp.stack([a, jnp.zeros_like(a)], -1)
    lp = nets.log_prob("tanh_gaussian", out, grid)
    u = np.arctanh(np.asarray(a, np.float64))
    s = np.exp(np.asarray(log_std, np.float64))
    ref0 = -0.5 * ((u - 0.3) / s[0]) ** 2 - np.log(s[0]) - 0.5 * np.log(2 * np.pi) - np.log1p(-np.asarray(a, np.float64) ** 2)
    ref1 = -0.5 * ((0.0 + 1.2) / s[1]) ** 2 - np.log(s[1]) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(lp, ref0 + ref1, rtol=2e-4, atol=2e-3)
    # Monte-Carlo: a histogram of samples matches the density of the first coordinate.
    acts, lp_sample = nets.sample("tanh_gaussian", jnp.broadcast_to(out, (200_000, 4)), jax.random.PRNGKey(0))
    assert float(jnp.abs(acts).max()) < 1.0
    hist, edges = np.histogram(np.asarray(acts[:, 0]), bins=40, range=(-1, 1), density=True)
    centres = (edges[:-1] + edges[1:]) / 2
    dens = np.exp(-0.5 * ((np.arctanh(centres) - 0.3) / s[0]) ** 2) / (s[0] * np.sqrt(2 * np.pi) * (1 - centres**2))
    np.testing.assert_allclose(hist, dens, rtol=0.06, atol=0.02)
    # The log-prob returned with a sample equals log_prob of that action (none saturates at these parameters)
    lp_again = nets.log_prob("tanh_gaussian", out, acts[:1000])
    np.testing.assert_allclose(lp_sample[:1000], lp_again, rtol=1e-3, atol=1e-3)
    # Entropy estimate: its mean equals −E[log π(a)].
    ent = nets.entropy("tanh_gaussian", jnp.broadcast_to(out, (200_000, 4)), jax.random.PRNGKey(1))
    np.testing.assert_allclose(ent.mean(), -lp_sample.mean(), rtol=0.02)
    # Saturated actions give a finite log-prob and gradient.
    far = jnp.array([25.0, -25.0, -3.0, -3.0])
    assert bool(jnp.isfinite(nets.log_prob("tanh_gaussian", far, jnp.array([1.0, -1.0]))))
    g = jax.grad(lambda o: nets.log_prob("tanh_gaussian", o, jnp.array([1.0, -1.0])))(far)
    assert bool(jnp.all(jnp.isfinite(g)))


def test_squash_log_det_gives_the_pre_squash_gaussian_density():
    out = jnp.array([0.3, -1.2, -0.5, 0.4])
    # Near-saturated actions included: the change-of-variables term is then ~14 nats per dimension.
    a = jnp.array([[0.2, -0.7], [0.999, 0.5], [-0.9999996, 0.99999964], [0.0, 0.0]])
    # atanh in float32 like the library (near |a| = 1 its float32 rounding moves u by ~1e-3)
    u = np.arctanh(np.clip(np.asarray(a), np.float32(-1 + 1e-6), np.float32(1 - 1e-6))).astype(np.float64)
    ref = jax.scipy.stats.norm.logpdf(u, np.asarray(out[:2]), np.exp(np.asarray(out[2:]))).sum(-1)
    got = nets.log_prob("tanh_gaussian", out, a) + nets.squash_log_det("tanh_gaussian", a)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-3)
    assert float(-nets.squash_log_det("tanh_gaussian", a)[2]) > 25.0  # two saturated dimensions
    for head, act in (("gaussian", a), ("categorical", jnp.arange(4))):
        assert float(jnp.max(jnp.abs(nets.squash_log_det(head, act)))) == 0.0


def _log1m_tanh_sq_f64(u):
    """log(1 − tanh(u)²) = log 4 − 2|u| − 2 log(1 + e^(−2|u|)), in float64."""
    u = np.abs(np.asarray(u, np.float64))
    return np.log(4.0) - 2.0 * u - 2.0 * np.log1p(np.exp(-2.0 * u))


def test_the_raw_draw_gives_back_the_exact_log_prob_where_actions_saturate():
    """A tanh-Gaussian sample's log π is recomputed exactly from its pre-squash draw ``u`` (what a rollout stores), also
    where ``tanh(u)`` rounds to ±1 in float32 and ``log_prob`` of the action alone, working back through a clipped
    ``atanh``, is off by nats."""
    mean, log_std = np.array([6.0, -0.2]), np.array([0.7, -1.0])
    out = jnp.broadcast_to(jnp.asarray(np.concatenate([mean, log_std]), jnp.float32), (4000, 4))
    key = jax.random.PRNGKey(3)
    action, raw, logp = nets.sample_raw("tanh_gaussian", out, key)
    np.testing.assert_array_equal(action, jnp.tanh(raw))
    a2, lp2 = nets.sample("tanh_gaussian", out, key)  # the same draw through sample()
    np.testing.assert_array_equal(a2, action)
    np.testing.assert_array_equal(lp2, logp)
    np.testing.assert_allclose(nets.raw_log_prob("tanh_gaussian", out, raw), logp, rtol=1e-6)
    u = np.asarray(raw, np.float64)
    ref = (-0.5 * ((u - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi) - _log1m_tanh_sq_f64(u)).sum(-1)
    np.testing.assert_allclose(logp, ref, rtol=1e-5, atol=1e-3)
    saturated = np.abs(u[:, 0]) > 9.0
    assert saturated.sum() > 300, saturated.sum()
    off = np.abs(np.asarray(nets.log_prob("tanh_gaussian", out, action)) - ref)
    assert off[saturated].min() > 1.0 and off[~saturated & (np.abs(u[:, 0]) < 4)].max() < 1e-2
    # raw_action works an action back as log_prob does; for the other heads the raw draw is the action
    np.testing.assert_array_equal(nets.raw_log_prob("tanh_gaussian", out, nets.raw_action("tanh_gaussian", action)),
                                  nets.log_prob("tanh_gaussian", out, action))
    g_out = jnp.asarray([0.3, -1.2, -0.5, 0.4])
    a, r, lp = nets.sample_raw("gaussian", jnp.broadcast_to(g_out, (5, 4)), key)
    np.testing.assert_array_equal(a, r)
    np.testing.assert_array_equal(nets.raw_log_prob("gaussian", g_out, r), lp)
    assert nets.raw_action("gaussian", a) is a
    a, r, lp = nets.sample_raw("categorical", jnp.zeros((5, 3)), key)
    np.testing.assert_array_equal(a, r)
    np.testing.assert_allclose(lp, np.log(1 / 3), rtol=1e-6)
    # pre-squash density from the draw: the Gaussian's, exactly
    np.testing.assert_allclose(
        nets.raw_log_prob("tanh_gaussian", out, raw) + nets.raw_squash_log_det("tanh_gaussian", raw),
        (-0.5 * ((u - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1), rtol=1e-5, atol=1e-4)


def test_ppo_ratio_is_one_before_the_first_step_even_with_saturated_actions():
    """The update recomputes log π from the rollout's stored draws: before its first gradient step every ratio is
    exactly 1 (no sample clipped, KL 0), however many actions saturate. (Recomputed from the actions, about two thirds
    of these samples sat outside the clip range.)"""
    env = envs.make("pointmass", 16, episode_length=20)
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(16,), policy_head="tanh_gaussian",
                        init_log_std=1.0)
    state = ppo.init(cfg, env, jax.random.PRNGKey(0))
    state = shift_policy_mean(state, [7.0, -5.0])
    _, ro = jax.jit(lambda s, k: ppo.rollout(cfg, s, env, env.reset(k), k))(state, jax.random.PRNGKey(1))
    assert float(jnp.mean(jnp.abs(ro.raw_action[..., 0]) > 8.0)) > 0.2
    np.testing.assert_allclose(jnp.tanh(ro.raw_action), ro.transition.action, atol=1e-6)  # (XLA's tanh in jit)
    _, m = jax.jit(lambda s, k: ppo.update(cfg, s, ro, ro.transition.reward, k))(state, jax.random.PRNGKey(2))
    assert float(m["clip_fraction"]) == 0.0 and abs(float(m["approx_kl"])) < 1e-6
    # what recomputing from the actions would have given
    out = ppo.policy_output(cfg, state, ro.transition.obs)
    from_actions = nets.log_prob("tanh_gaussian", out, ro.transition.action)
    assert float(jnp.mean(jnp.abs(jnp.exp(from_actions - ro.log_prob) - 1.0) > cfg.clip_eps)) > 0.1


def test_clipped_log_prob_is_the_censored_gaussian_of_the_executed_action():
    """``nets.clipped_log_prob``: below/above the bounds the Gaussian's tail masses, inside its density — so the
    interior's integral plus both masses is 1 — and its expected negative log (the 'entropy' AIRL's β log π
    pays) stays bounded as the Gaussian widens past the bounds, where the raw Gaussian's grows like log σ."""
    grid = np.linspace(-1.0, 1.0, 20001)[1:-1]
    for mean, log_std in ((0.3, -1.0), (0.8, 0.5), (-2.0, 1.5)):
        out = jnp.array([mean, log_std])
        lp_in = nets.clipped_log_prob(out, jnp.asarray(grid)[:, None])
        density = np.exp(np.asarray(lp_in, np.float64))
        interior = float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid)))  # the trapezoid rule (numpy 1.26 too)
        lo, hi = (float(jnp.exp(nets.clipped_log_prob(out, jnp.array([a])))) for a in (-1.0, 1.0))
        sd = math.exp(log_std)
        assert lo == pytest.approx(float(jax.scipy.stats.norm.cdf(-1.0, mean, sd)), rel=1e-4)
        assert hi == pytest.approx(float(jax.scipy.stats.norm.sf(1.0, mean, sd)), rel=1e-4)
        assert interior + lo + hi == pytest.approx(1.0, abs=1e-3)
        # beyond the bound every action is the same executed action: same log-likelihood
        assert float(nets.clipped_log_prob(out, jnp.array([3.0]))) == pytest.approx(math.log(hi), rel=1e-5)
        np.testing.assert_allclose(lp_in, nets.log_prob("gaussian", out, jnp.asarray(grid)[:, None]), rtol=1e-5)
    # expected −log π over the policy's own samples: bounded for the censored form (log 2 + the interior's
    # vanishing share as σ grows), growing by 1 nat per unit of log σ for the raw Gaussian
    key = jax.random.PRNGKey(0)
    ent = {}
    for log_std in (0.0, 0.5, 2.0, 4.0, 6.0):
        out = jnp.broadcast_to(jnp.array([0.0, log_std]), (100_000, 2))
        a, lp_raw = nets.sample("gaussian", out, key)
        ent[log_std] = (-float(nets.clipped_log_prob(out, a).mean()), -float(lp_raw.mean()))
    assert ent[6.0][1] - ent[0.0][1] == pytest.approx(6.0, abs=0.05)
    # censored: largest near σ ≈ 1.6 (1.38 nats), then falling towards log 2 (two equal point masses)
    assert ent[0.5][0] > ent[0.0][0] and ent[0.5][0] > ent[2.0][0] > ent[4.0][0] > ent[6.0][0]
    assert ent[0.5][0] < 1.45 and ent[6.0][0] == pytest.approx(math.log(2.0), abs=0.03)
    # several dimensions: the sum of the per-dimension terms; gradients finite far in the tails
    out = jnp.array([0.2, -0.4, -1.0, 0.3])
    a = jnp.array([[0.5, 2.0], [-7.0, 0.0]])
    per = [[nets.clipped_log_prob(jnp.array([out[d], out[2 + d]]), a[i, d:d + 1]) for d in range(2)] for i in range(2)]
    np.testing.assert_allclose(nets.clipped_log_prob(out, a), np.sum(np.asarray(per), 1), rtol=1e-6)
    g = jax.grad(lambda o: nets.clipped_log_prob(o, jnp.array([1.0, -1.0])))(jnp.array([30.0, -30.0, -3.0, -3.0]))
    assert bool(jnp.all(jnp.isfinite(g)))


def test_gaussian_and_categorical_heads():
    out = jnp.array([0.5, -1.0, 0.2, -0.3])
    x = jnp.array([0.1, 0.4])
    ref = jax.scipy.stats.norm.logpdf(x, out[:2], jnp.exp(out[2:])).sum()
    np.testing.assert_allclose(nets.log_prob("gaussian", out, x), ref, rtol=1e-6)
    np.testing.assert_allclose(nets.entropy("gaussian", out, None), (out[2:] + 0.5 * math.log(2 * math.pi * math.e)).sum(), rtol=1e-6)
    logits = jnp.log(jnp.array([0.2, 0.5, 0.3]))
    np.testing.assert_allclose(jnp.exp(nets.log_prob("categorical", logits, jnp.arange(3))), [0.2, 0.5, 0.3], rtol=1e-6)
    np.testing.assert_allclose(nets.entropy("categorical", logits, None), -(0.2 * np.log(0.2) + 0.5 * np.log(0.5) + 0.3 * np.log(0.3)), rtol=1e-6)
    draws, _ = nets.sample("categorical", jnp.broadcast_to(logits, (30_000, 3)), jax.random.PRNGKey(0))
    np.testing.assert_allclose(np.bincount(np.asarray(draws), minlength=3) / 30_000, [0.2, 0.5, 0.3], atol=0.015)
    assert int(nets.mode("categorical", logits)) == 1
    batch = jnp.broadcast_to(logits, (3, 3))  # (M, 1) index arrays are indices, not a batch axis to broadcast
    np.testing.assert_allclose(nets.log_prob("categorical", batch, jnp.arange(3)[:, None]),
                               nets.log_prob("categorical", batch, jnp.arange(3)), rtol=1e-6)
    np.testing.assert_allclose(nets.mode("tanh_gaussian", out), np.tanh([0.5, -1.0]), rtol=1e-6)


def test_running_norm_matches_concatenated_moments():
    rng = np.random.default_rng(1)
    batches = [rng.normal(3.0, 2.0, size=(n, 3)) for n in (5, 17, 1, 40)]
    norm = nets.RunningNorm.create(3)
    np.testing.assert_allclose(nets.normalize(norm, jnp.ones(3)), np.ones(3), rtol=1e-6)  # identity at first
    for b in batches:
        norm = nets.update(norm, jnp.asarray(b, jnp.float32))
    allx = np.concatenate(batches)
    np.testing.assert_allclose(norm.mean, allx.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.var, allx.var(0), rtol=1e-4)
    assert float(norm.count) == len(allx)
    z = nets.normalize(norm, jnp.asarray(allx, jnp.float32))
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(0), 1.0, rtol=1e-4)


# PPO on pointmass: 16 envs × 50 steps per update, 60 updates (48k env steps).
# A uniformly random policy scores about -52 per episode, the scripted controller about -3.
_ENV = envs.make("pointmass", num_envs=16, episode_length=50)
_CFG = ppo.PPOConfig(num_steps=50, num_minibatches=4, update_epochs=4, learning_rate=3e-3)
_UPDATES = 60
_THRESHOLD = -15.0
_RANDOM_MAX = -35.0


@pytest.fixture(scope="module")
def trained():
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    single = jax.jit(ppo.make_train(_CFG, _ENV, _UPDATES))
    separate = [single(k) for k in keys]
    # One program vmapped over (key, learning rate): the learning rate is a traced field.
    batched = jax.jit(jax.vmap(lambda k, lr: ppo.make_train(_CFG.replace(learning_rate=lr), _ENV, _UPDATES)(k)))
    same_lr = batched(keys, jnp.full(2, _CFG.learning_rate))
    two_lrs = batched(jnp.stack([keys[0], keys[0]]), jnp.array([_CFG.learning_rate, 0.0]))
    return keys, separate, same_lr, two_lrs


@pytest.mark.slow
def test_ppo_learns_pointmass(trained):
    keys, separate, _, _ = trained
    for state, metrics in separate:
        ret = np.asarray(metrics["episode_return"])
        assert ret[:3].mean() < _RANDOM_MAX  # starts near random
        assert ret[-5:].mean() > _THRESHOLD, ret[-5:]
        assert np.all(np.isfinite(metrics["value_loss"]))
    state = separate[0][0]
    det = evaluate(_ENV, lambda obs, k: ppo.act_deterministic(_CFG, state, obs), jax.random.PRNGKey(7))
    rnd = evaluate(_ENV, lambda obs, k: jax.random.uniform(k, (16, 2), minval=-1, maxval=1), jax.random.PRNGKey(7))
    assert int(det["num_episodes"]) == 16 and float(det["mean_length"]) == 50
    assert float(det["mean_return"]) > _THRESHOLD
    assert float(rnd["mean_return"]) < _RANDOM_MAX


@pytest.mark.slow
def test_vmap_over_keys_equals_separate_calls(trained):
    keys, separate, same_lr, _ = trained
    for i in range(2):
        state, metrics = separate[i]
        # Batched and unbatched float kernels round differently and PPO amplifies that over many
        # updates, so compare exactly-initialised quantities and the first updates tightly, the end loosely.
        for name in ("policy_loss", "value_loss", "entropy", "episode_return"):
            np.testing.assert_allclose(same_lr[1][name][i, :3], metrics[name][:3], rtol=1e-3, atol=1e-4)
        assert np.asarray(same_lr[1]["episode_return"][i, -5:]).mean() > _THRESHOLD
    init_a = ppo.init(_CFG, _ENV, jax.random.split(keys[0], 3)[0]).params
    first = jax.tree.map(lambda x: x[0], same_lr[0].params)
    assert not jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.allclose(a, b)), first, init_a))


@pytest.mark.slow
def test_vmap_over_learning_rate(trained):
    keys, separate, same_lr, two_lrs = trained
    state, metrics = two_lrs
    np.testing.assert_allclose(metrics["learning_rate"][:, 0], [_CFG.learning_rate, 0.0], rtol=1e-6)
    # Row 0 is the same computation as the first run; row 1 (lr = 0) never moves its parameters.
    np.testing.assert_allclose(metrics["policy_loss"][0, :3], separate[0][1]["policy_loss"][:3], rtol=1e-3, atol=1e-4)
    assert np.asarray(metrics["episode_return"][0, -5:]).mean() > _THRESHOLD
    assert np.asarray(metrics["episode_return"][1, -5:]).mean() < _RANDOM_MAX
    init_params = ppo.init(_CFG, _ENV, jax.random.split(keys[0], 3)[0]).params
    frozen = jax.tree.map(lambda x: x[1], state.params)
    jax.tree.map(np.testing.assert_array_equal, frozen, init_params)


def test_bad_config_raises():
    disc = envs.from_mdp(_tiny_mdp(), jnp.zeros(2), num_envs=2, episode_length=4)
    with pytest.raises(ValueError, match="learning_rate"):
        ppo.init(ppo.PPOConfig(learning_rate=-1.0), _ENV, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="discount"):
        ppo.make_train(ppo.PPOConfig(discount=1.5), _ENV, 2)
    with pytest.raises(ValueError, match="num_minibatches: must divide"):
        ppo.make_train(ppo.PPOConfig(num_steps=5, num_minibatches=3), _ENV, 2)
    with pytest.raises(ValueError, match="policy_head.*expected categorical"):
        ppo.init(ppo.PPOConfig(policy_head="gaussian"), disc, jax.random.PRNGKey(0))
    # a categorical policy has no std: its settings would do nothing
    with pytest.raises(ValueError, match="state_dependent_std: a categorical policy"):
        ppo.init(ppo.PPOConfig(state_dependent_std=True), disc, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="init_log_std: a categorical policy .* got -1.0"):
        ppo.init(ppo.PPOConfig(init_log_std=-1.0), disc, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="policy_head: expected one of"):
        ppo.init(ppo.PPOConfig(policy_head="beta"), _ENV, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="activation"):
        ppo.init(ppo.PPOConfig(activation="sigmoidish"), _ENV, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="hidden"):
        ppo.init(ppo.PPOConfig(hidden=(64, 0)), _ENV, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="num_updates"):
        ppo.make_train(_CFG, _ENV, 0)
    with pytest.raises(ValueError, match="shuffle_groups: expected a positive int"):
        ppo.init(ppo.PPOConfig(shuffle_groups=0), _ENV, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="shuffle_groups: must divide num_envs = 16 and the minibatch size .* = 64, got 3"):
        ppo.make_train(ppo.PPOConfig(num_steps=4, num_minibatches=1, shuffle_groups=3), _ENV, 2)
    with pytest.raises(ValueError, match="minibatch size .* = 4, got 8"):  # 16 envs x 1 step in 4 minibatches of 4
        ppo.make_train(ppo.PPOConfig(num_steps=1, num_minibatches=4, shuffle_groups=8), _ENV, 2)
    key = jax.random.PRNGKey(0)
    for field, value, words in (("init_log_std", 2.5, r"init_log_std: expected a number in \[-5.0, 2.0\]"),
                                ("init_log_std", float("nan"), "init_log_std"), ("adam_eps", 0.0, "adam_eps: expected"),
                                ("adam_eps", float("nan"), "adam_eps"), ("reward_scale", 0.0, "reward_scale: expected a value > 0"),
                                ("reward_scale", -1.0, "reward_scale"), ("clip_eps", 1.5, "clip_eps: expected a value <= 1"),
                                ("normalize_obs", "no", "normalize_obs: expected true or false"),
                                ("state_dependent_std", 1, "state_dependent_std")):
        with pytest.raises(ValueError, match=words):
            ppo.init(ppo.PPOConfig(**{field: value}), _ENV, key)
    # a minibatch of one sample has advantage exactly 0 once normalised: no policy gradient at all
    with pytest.raises(ValueError, match="num_minibatches: minibatches of one sample .* at most .* = 8, got 16"):
        ppo.make_train(ppo.PPOConfig(num_steps=1, num_minibatches=16), _ENV, 2)
    ppo.make_train(ppo.PPOConfig(num_steps=1, num_minibatches=16, normalize_advantages=False), _ENV, 2)
    # annealing that ends before the run does would leave its last updates at learning rate 0
    with pytest.raises(ValueError, match="anneal_lr_updates: the learning rate would reach 0 after 5 of the run's 6"):
        ppo.make_train(ppo.PPOConfig(anneal_lr_updates=5), _ENV, 6)
    for ok in (0, 6, 9):
        ppo.make_train(ppo.PPOConfig(anneal_lr_updates=ok), _ENV, 6)


def test_a_log_std_past_its_bound_can_be_trained_back():
    """``nets.bound_log_std``: the forward pass is the clip to ``[LOG_STD_MIN, LOG_STD_MAX]``; its gradient passes
    inside, and outside only where a descent step moves the value back (a plain clip has gradient 0 there, so a
    log-std parameter that Adam's momentum carried past the bound could never return)."""
    x = jnp.array([-7.0, -5.0, 0.3, 2.0, 2.5, 2.5, -7.0])
    np.testing.assert_array_equal(nets.bound_log_std(x), jnp.clip(x, nets.LOG_STD_MIN, nets.LOG_STD_MAX))
    g = jnp.array([1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0])  # d loss / d output
    _, vjp = jax.vjp(nets.bound_log_std, x)
    # -7 with g > 0 (descent lowers it further): dropped; 2.5 with g > 0 (descent lowers it back): kept
    np.testing.assert_array_equal(vjp(g)[0], [0.0, 1.0, -1.0, 1.0, 1.0, 0.0, -1.0])

    # a Gaussian policy whose log-std parameter sits at 2.5 fits data of std 0.1: it comes back inside the bounds
    net = nets.PolicyNet("gaussian", 1, hidden=(8,))
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 2)))
    params["params"]["log_std"] = jnp.array([2.5])
    obs = jnp.zeros((256, 2))
    actions = 0.1 * jax.random.normal(jax.random.PRNGKey(1), (256, 1))

    def nll(p):
        out = net.apply(p, obs)
        return -jnp.mean(nets.log_prob("gaussian", out, actions))

    grad = jax.grad(nll)(params)["params"]["log_std"]
    assert float(grad[0]) > 0  # a plain clip would give exactly 0 here
    # the rule acts on the parameter's summed gradient, not per sample: samples pulling both ways, net outward, give 0
    w = jnp.array([1.0, -1.0, -1.0, -1.0])
    net_out = jax.grad(lambda p: jnp.sum(w * net.apply(p, obs[:4])[:, 1]))(params)["params"]["log_std"]
    assert float(net_out[0]) == 0.0
    for _ in range(20):
        params = jax.tree.map(lambda p, g: p - 0.1 * g, params, jax.grad(nll)(params))
    assert float(params["params"]["log_std"][0]) < nets.LOG_STD_MAX


def test_minibatches_are_a_permutation_drawn_equally_from_each_group():
    """``ppo.minibatches``: every (t, n) step in exactly one minibatch; with G groups each minibatch holds
    mb / G steps of every block of N / G envs, in block order; G = 1 is one global permutation."""
    T, N, M = 4, 8, 4
    ids = jnp.arange(T * N).reshape(T, N)  # id = t * N + n
    data = {"id": ids, "obs": jnp.stack([ids, -ids], -1).astype(jnp.float32)}
    key = jax.random.PRNGKey(0)
    one = ppo.minibatches(data, key, M, 1)
    assert one["id"].shape == (M, T * N // M) and one["obs"].shape == (M, T * N // M, 2)
    np.testing.assert_array_equal(np.sort(np.asarray(one["id"]).ravel()), np.arange(T * N))
    np.testing.assert_array_equal(one["obs"][..., 0], one["id"])  # leaves shuffled alike
    np.testing.assert_array_equal(np.asarray(one["id"]).ravel(), np.asarray(jax.random.permutation(key, T * N)))
    for G in (2, 4):
        mbs = np.asarray(ppo.minibatches(data, key, M, G)["id"])
        np.testing.assert_array_equal(np.sort(mbs.ravel()), np.arange(T * N))
        block = (mbs % N) // (N // G)  # the env block of every drawn step
        np.testing.assert_array_equal(block, np.repeat(np.arange(G), T * N // M // G)[None].repeat(M, 0))
        assert not np.array_equal(mbs, np.asarray(one["id"]))
    with pytest.raises(ValueError, match="groups: must divide num_envs = 8 and the minibatch size"):
        ppo.minibatches(data, key, M, 3)
    with pytest.raises(ValueError, match="num_minibatches: must divide num_steps \\* num_envs = 32, got 5"):
        ppo.minibatches(data, key, 5, 1)


def _count_primitive(jaxpr, name):
    """Occurrences of primitive ``name`` in a jaxpr, nested jaxprs (pjit, scan, cond bodies) included."""
    n = 0
    for eqn in jaxpr.eqns:
        n += eqn.primitive.name == name
        for v in eqn.params.values():
            for sub in (v if isinstance(v, (tuple, list)) else (v,)):
                if isinstance(sub, jax.extend.core.ClosedJaxpr):
                    n += _count_primitive(sub.jaxpr, name)
                elif isinstance(sub, jax.extend.core.Jaxpr):
                    n += _count_primitive(sub, name)
    return n


def test_minibatches_draw_one_permutation_for_all_leaves():
    """The permutation is drawn once per call, not once per leaf: inside update's scanned epochs XLA did not merge
    the per-leaf copies (5 random sorts of T*N keys per epoch on the CPU, ~20 % of a pointmass AIRL iteration)."""
    T, N, M = 4, 8, 4
    one_leaf = {"a": jnp.zeros((T, N, 3))}
    five = {k: jnp.zeros((T, N, 3)) for k in "abcde"}
    key = jax.random.PRNGKey(0)
    for G in (1, 2):
        sorts = [_count_primitive(jax.make_jaxpr(lambda d: ppo.minibatches(d, key, M, G))(d).jaxpr, "sort")
                 for d in (one_leaf, five)]
        assert sorts[0] >= 1 and sorts[1] == sorts[0], (G, sorts)


def _tiny_mdp():
    from jaxirl.tabular.mdp import TabularMDP

    T = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    return TabularMDP(T, jnp.array([1.0, 0.0]), discount=0.9)


def test_ppo_categorical_on_tabular_env():
    """Two states; action a moves to state a and state 1 pays 1 per step: PPO must learn to pick action 1."""
    env = envs.from_mdp(_tiny_mdp(), jnp.array([0.0, 1.0]), num_envs=8, episode_length=10)
    cfg = ppo.PPOConfig(num_steps=10, num_minibatches=2, update_epochs=4, learning_rate=1e-2, hidden=(16,))
    state, metrics = jax.jit(ppo.make_train(cfg, env, 25))(jax.random.PRNGKey(0))
    assert state.head == "categorical"
    ret = np.asarray(metrics["episode_return"])
    assert ret[0] < 7.0 and ret[-3:].mean() > 8.5, ret  # random ≈ 4.5, optimal 9
    obs = jax.nn.one_hot(jnp.arange(2), 2)
    np.testing.assert_array_equal(ppo.act_deterministic(cfg, state, obs), [1, 1])
    p1 = jnp.exp(ppo.log_prob(cfg, state, obs, jnp.ones(2, jnp.int32)))
    assert bool(jnp.all(p1 > 0.9))


def test_actor_warmup_holds_the_policy_then_joins_in():
    """``actor_warmup_updates = W``: update u moves the actor by min(1, u / W) of its step, the critic fully;
    with W = 0 the update is the plain one."""
    env = envs.make("pointmass", 8, episode_length=20)
    base = dict(num_steps=8, num_minibatches=2, update_epochs=2, hidden=(16,), learning_rate=1e-2)
    key = jax.random.PRNGKey(0)
    ro_key, up_key = jax.random.split(jax.random.PRNGKey(1))

    def one_update(cfg, state):
        _, ro = ppo.rollout(cfg, state, env, env.reset(key), ro_key)
        return ppo.update(cfg, state, ro, ro.transition.reward, up_key)

    plain_cfg, warm_cfg = ppo.PPOConfig(**base), ppo.PPOConfig(**base, actor_warmup_updates=4)
    s0 = ppo.init(warm_cfg, env, key)
    plain, m_plain = one_update(plain_cfg, s0)
    held, m_held = one_update(warm_cfg, s0)
    jax.tree.map(np.testing.assert_array_equal, held.params["actor"], s0.params["actor"])   # u = 0: no actor step
    # the critic learns as without (not bit-equal: the global-norm gradient clip couples it to the actor's gradients)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6), held.params["critic"],
                 plain.params["critic"])
    assert not np.allclose(held.params["critic"]["params"]["Dense_0"]["kernel"], s0.params["critic"]["params"]["Dense_0"]["kernel"])
    assert float(m_held["actor_learning_rate"]) == 0.0 and float(m_plain["actor_learning_rate"]) == pytest.approx(1e-2)
    # at update u = 2 the actor's step is half the plain one (same Adam statistics, same gradients)
    s2 = s0.replace(step=jnp.asarray(2, jnp.int32))
    p_plain, _ = one_update(plain_cfg, s2)
    p_half, m_half = one_update(warm_cfg, s2)
    assert float(m_half["actor_learning_rate"]) == pytest.approx(5e-3)
    d_plain = jax.tree.map(lambda a, b: a - b, p_plain.params["actor"], s2.params["actor"])
    d_half = jax.tree.map(lambda a, b: a - b, p_half.params["actor"], s2.params["actor"])
    # one minibatch step apart the directions are the same; over 4 steps they differ a little
    num = sum(float(jnp.vdot(a, b)) for a, b in zip(jax.tree.leaves(d_plain), jax.tree.leaves(d_half)))
    n_plain = sum(float(jnp.sum(a * a)) for a in jax.tree.leaves(d_plain)) ** 0.5
    n_half = sum(float(jnp.sum(a * a)) for a in jax.tree.leaves(d_half)) ** 0.5
    assert num / (n_plain * n_half) > 0.9 and 0.35 < n_half / n_plain < 0.65, (num / (n_plain * n_half), n_half / n_plain)
    with pytest.raises(ValueError, match="actor_warmup_updates: expected an int >= 0"):
        ppo.init(ppo.PPOConfig(actor_warmup_updates=-1), env, key)


def _small_rollout(cfg, seed=0, num_envs=4, episode_length=20):
    """A fresh state and one rollout of ``cfg.num_steps`` steps on a small pointmass."""
    env = envs.make("pointmass", num_envs, episode_length=episode_length)
    state = ppo.init(cfg, env, jax.random.PRNGKey(seed))
    _, ro = ppo.rollout(cfg, state, env, env.reset(jax.random.PRNGKey(seed + 1)), jax.random.PRNGKey(seed + 2))
    return env, state, ro


def test_entropy_bonus_is_subtracted_from_the_loss():
    """The loss is ``… − ent_coef · H`` (Schulman et al. 2017, eq. 9): raising ``ent_coef`` from 0 to 0.1 lowers the
    loss by 0.1 × the batch entropy reported in the aux outputs, and (Gaussian head, ``H = Σ log σ + const``) moves
    the gradient of every state-independent log std by exactly −0.1, so a descent step widens the policy."""
    cfg0 = ppo.PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(8,), policy_head="gaussian")
    cfg1 = cfg0.replace(ent_coef=0.1)
    _, state, ro = _small_rollout(cfg0)
    adv, target = ppo.gae(ro.transition.reward, ro.value, ro.next_value, ro.transition.terminated,
                          ro.transition.truncated, cfg0.discount, cfg0.gae_lambda)
    flat = lambda x: x.reshape((-1,) + x.shape[2:])
    batch = {"obs": flat(ro.transition.obs), "raw_action": flat(ro.raw_action), "log_prob": flat(ro.log_prob),
             "advantage": flat(adv), "target": flat(target)}
    key = jax.random.PRNGKey(5)
    (l0, aux0), g0 = jax.value_and_grad(lambda p: ppo._loss(cfg0, state, p, batch, key), has_aux=True)(state.params)
    (l1, aux1), g1 = jax.value_and_grad(lambda p: ppo._loss(cfg1, state, p, batch, key), has_aux=True)(state.params)
    ent = float(aux1["entropy"])
    assert ent == pytest.approx(float(aux0["entropy"]))
    # σ = 1 at init: H = action_dim · ½ log(2πe) per step
    assert ent == pytest.approx(2 * 0.5 * math.log(2 * math.pi * math.e), rel=1e-6)
    assert float(l1) - float(l0) == pytest.approx(-0.1 * ent, rel=1e-5)
    dg = np.asarray(g1["actor"]["params"]["log_std"]) - np.asarray(g0["actor"]["params"]["log_std"])
    np.testing.assert_allclose(dg, [-0.1, -0.1], rtol=1e-5, atol=1e-6)


def test_reward_scale_multiplies_the_rewards_given_to_update():
    """``reward_scale = 3`` with rewards ``r`` is the same update, bit for bit, as ``reward_scale = 1`` with ``3 r``
    — and not the update with ``r``."""
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=2, update_epochs=2, hidden=(8,))
    _, state, ro = _small_rollout(cfg)
    r = ro.transition.reward
    assert float(jnp.std(r)) > 0.0
    key = jax.random.PRNGKey(7)
    scaled, _ = ppo.update(cfg.replace(reward_scale=3.0), state, ro, r, key)
    times3, _ = ppo.update(cfg, state, ro, r * 3.0, key)
    plain, _ = ppo.update(cfg, state, ro, r, key)
    jax.tree.map(np.testing.assert_array_equal, scaled.params, times3.params)
    diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(scaled.params),
                                                               jax.tree.leaves(plain.params)))
    assert diff > 1e-6, diff


@pytest.mark.parametrize("normalize_obs", [True, False])
def test_update_folds_the_rollout_observations_into_the_normaliser(normalize_obs):
    """From a fresh state one :func:`ppo.update` sets the normaliser to the rollout observations' moments and
    count ``T · N`` (``normalize_obs``); without it the normaliser stays the identity it was created as."""
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=2, update_epochs=1, hidden=(8,), normalize_obs=normalize_obs)
    env, state, ro = _small_rollout(cfg)
    new, _ = ppo.update(cfg, state, ro, ro.transition.reward, jax.random.PRNGKey(3))
    obs = np.asarray(ro.transition.obs, np.float64).reshape(-1, env.observation_size)
    assert obs.shape[0] == 8 * 4
    if normalize_obs:
        np.testing.assert_allclose(new.obs_norm.mean, obs.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(new.obs_norm.var, obs.var(0), rtol=1e-4, atol=1e-6)
        assert float(new.obs_norm.count) == 8 * 4
        assert float(np.max(np.abs(obs.mean(0)))) > 1e-3  # a real move away from the initial mean 0
    else:
        np.testing.assert_array_equal(new.obs_norm.mean, state.obs_norm.mean)
        np.testing.assert_array_equal(new.obs_norm.var, state.obs_norm.var)
        assert float(new.obs_norm.count) == 0.0
