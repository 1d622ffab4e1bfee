"""Absorbing states after termination (Kostrikov et al. 2019, DAC): the augmented discriminator loss equals
the BCE over explicitly augmented batches, its optimum for the absorbing logit is the closed form, the
terminal bonus is the value of staying absorbed forever, and the trainer wires both in."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import envs, nets
from jaxirl import reward as R
from jaxirl.objectives import absorbing, discriminator_bce
from jaxirl.train import make_train
from jaxirl.rl import ppo
from jaxirl.train_config import make_config


def test_augmented_bce_equals_bce_over_explicitly_augmented_batches():
    k = jax.random.split(jax.random.PRNGKey(0), 2)
    le, lp = jax.random.normal(k[0], (8,)), jax.random.normal(k[1], (6,))
    te = jnp.zeros(8).at[2].set(1.0)  # one expert episode ended here
    tp = jnp.zeros(6).at[jnp.array([0, 3, 5])].set(1.0)
    la = jnp.asarray(-1.3)
    got = absorbing.discriminator_bce(le, lp, la, te, tp)
    # DAC's buffer: one absorbing self-transition per terminated transition, on each side
    want = discriminator_bce(jnp.concatenate([le, la[None]]), jnp.concatenate([lp, jnp.full(3, la)]))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # nothing terminated: the plain loss
    z8, z6 = jnp.zeros(8), jnp.zeros(6)
    np.testing.assert_allclose(absorbing.discriminator_bce(le, lp, la, z8, z6), discriminator_bce(le, lp), rtol=1e-6)


def test_absorbing_logit_optimum_is_the_log_ratio_of_termination_rates():
    le, lp = jnp.zeros(100), jnp.zeros(100)
    te = jnp.zeros(100).at[:2].set(1.0)  # the expert ends 2% of its transitions, the policy 20%
    tp = jnp.zeros(100).at[:20].set(1.0)
    grad = jax.grad(lambda la: absorbing.discriminator_bce(le, lp, la, te, tp))
    # 3000 gradient steps in one compiled loop (eagerly they took ~70 s of the suite)
    la = jax.jit(lambda x: jax.lax.fori_loop(0, 3000, lambda _, v: v - 20.0 * grad(v), x))(jnp.asarray(0.0))
    a, b = 0.02 / 1.02, 0.2 / 1.2
    np.testing.assert_allclose(la, np.log(a / b), atol=1e-3)
    assert la < -2.0  # ending an episode is what the policy does, not the expert: a strongly negative score


def test_terminal_bonus_is_the_value_of_staying_absorbed():
    gamma, r_a = 0.97, -0.7
    rewards = np.array([0.3, -0.2, 0.5, 1.0])
    terminated = np.array([0.0, 0.0, 0.0, 1.0])
    with_bonus = rewards + np.asarray(absorbing.terminal_bonus(r_a, terminated, gamma))
    got = sum(gamma**t * r for t, r in enumerate(with_bonus))
    forever = sum(gamma**t * r for t, r in enumerate(rewards)) + sum(gamma**t * r_a for t in range(4, 5000))
    np.testing.assert_allclose(got, forever, rtol=1e-6)


def _trainer(algorithm, gen=None, **disc):
    env = envs.make("pointmass", num_envs=4, episode_length=10)
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    demos = envs.Transition(
        obs=jax.random.normal(k[0], (32, env.observation_size)), action=jax.random.uniform(k[1], (32, 2), minval=-1),
        reward=jnp.zeros(32), next_obs=jax.random.normal(k[2], (32, env.observation_size)),
        terminated=jnp.zeros(32), truncated=jnp.zeros(32),
    )
    config = make_config(algorithm, "ppo", discriminator={"absorbing": True, "hidden": [8], "potential_hidden": [8], **disc},
                         generator_config={"num_steps": 4, "hidden": [8], "discount": 0.9, **(gen or {})},
                         num_iterations=1)
    return make_train(config, env, demos, expert_return=0.0)


@pytest.mark.parametrize("algorithm", ["gail", "airl"])
def test_trainer_adds_the_absorbing_value_at_terminations(algorithm):
    trainer = _trainer(algorithm)
    model = trainer.model
    assert model.absorbing
    params = R.init(model, jax.random.PRNGKey(0))
    params = params.replace(net={**params.net, "absorbing": jnp.asarray(-0.25)})  # score -2.5
    k = jax.random.split(jax.random.PRNGKey(2), 3)
    obs, nxt = jax.random.normal(k[0], (5, 6)), jax.random.normal(k[1], (5, 6))
    act = jax.random.uniform(k[2], (5, 2), minval=-1)
    term = jnp.array([0.0, 1.0, 0.0, 0.0, 1.0])
    log_pi = jnp.full(5, -1.0)
    got = trainer._reward_of(params, trainer.init(jax.random.PRNGKey(1)).generator)(obs, act, nxt, term, log_pi)
    inputs = R.encode(model, obs, act, nxt, term)
    base = trainer.objective.generator_reward(model, params, inputs, log_pi, 0.9, trainer.reward_type, False, 1.0)
    r_a = -2.5  # AIRL: f of the absorbing state; GAIL's default reward: the logit itself
    np.testing.assert_allclose(got, base + term * 0.9 * r_a / 0.1, rtol=1e-5, atol=1e-5)
    if algorithm == "airl":  # one training iteration runs and reports the absorbing score (one compile only)
        _, metrics = jax.jit(trainer.train)(jax.random.PRNGKey(0))
        assert "disc_absorbing_score" in metrics and np.all(np.isfinite(metrics["disc_absorbing_score"]))


def test_airl_pre_squash_log_pi_drops_the_tanh_jacobian_in_logit_and_reward():
    gen = {"policy_head": "tanh_gaussian"}
    plain, pre = _trainer("airl", gen), _trainer("airl", gen, log_pi_space="pre_squash")
    state = plain.init(jax.random.PRNGKey(1))
    params = R.init(plain.model, jax.random.PRNGKey(0))
    k = jax.random.split(jax.random.PRNGKey(2), 2)
    obs = jax.random.normal(k[0], (4, 6))
    act = jnp.array([[0.1, -0.5], [0.99999964, 0.3], [-0.9, 0.999], [0.0, 0.0]])
    term = jnp.array([0.0, 1.0, 0.0, 0.0])
    log_pi = plain.generator.log_prob(state.generator, obs, act)
    u = np.arctanh(np.clip(np.asarray(act, np.float64), -1 + 1e-6, 1 - 1e-6))
    jac = np.log1p(-np.tanh(u) ** 2).sum(-1)  # Σ log(1 − a²) < 0
    # The discriminator's log π (expert and policy batches) and the generator reward both shift by it.
    np.testing.assert_allclose(pre._log_pi(state.generator, obs, act) - log_pi, jac, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(plain._log_pi(state.generator, obs, act), log_pi, rtol=1e-6)
    r_plain = plain._reward_of(params, state.generator)(obs, act, obs, term, log_pi)
    r_pre = pre._reward_of(params, state.generator)(obs, act, obs, term, log_pi)
    np.testing.assert_allclose(r_plain - r_pre, jac, rtol=2e-3, atol=1e-3)
    # where there is no squash (a Gaussian head) or no log π in the logit (GAIL) the option is an error
    with pytest.raises(ValueError, match=r"log_pi_space.*policy head 'gaussian'"):
        _trainer("airl", {"policy_head": "gaussian"}, log_pi_space="pre_squash")
    with pytest.raises(ValueError, match=r"log_pi_space.*algorithm 'gail'"):
        _trainer("gail", gen, log_pi_space="pre_squash")


def test_airl_log_pi_of_policy_samples_comes_from_their_stored_draws():
    """A tanh-Gaussian policy's samples keep their pre-squash draws ``u`` (rollout and replay buffer): AIRL's log π of
    them is the exact density of the draw — the rollout's own value, also where the action saturates — in the
    action space and (``pre_squash``) as the Gaussian density of ``u``; demonstrations, with no draw, work it back from
    the action."""
    gen = {"policy_head": "tanh_gaussian"}
    plain, pre = _trainer("airl", gen), _trainer("airl", gen, log_pi_space="pre_squash")
    state = plain.init(jax.random.PRNGKey(1))
    obs = jax.random.normal(jax.random.PRNGKey(2), (3, 6))
    raw = jnp.array([[9.5, -0.3], [-11.0, 12.0], [0.2, 0.4]])  # two saturated draws, one plain
    act = jnp.tanh(raw)
    out = ppo.policy_output(plain.config.generator, state.generator, obs)
    mean, log_std = (np.asarray(x, np.float64) for x in jnp.split(out, 2, axis=-1))
    u = np.asarray(raw, np.float64)
    gauss = (-0.5 * ((u - mean) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
    np.testing.assert_allclose(pre._log_pi(state.generator, obs, act, raw=raw), gauss, rtol=1e-5, atol=1e-4)
    exact = plain.generator.raw_log_prob(state.generator, obs, raw)
    np.testing.assert_allclose(plain._log_pi(state.generator, obs, act, raw=raw), exact, rtol=1e-6)
    from_actions = plain._log_pi(state.generator, obs, act)  # what a demonstration with these actions gets
    np.testing.assert_allclose(from_actions[2], exact[2], rtol=1e-4)
    assert np.all(np.abs(np.asarray(from_actions - exact)[:2]) > 1.0)
    # one iteration: every log π of a policy sample gets its draw — the discriminator's policy batch (from the replay
    # buffer), the relabelled rewards (metrics, and the generator's update) — and only the expert batch works it back
    calls, log_pi = [], plain._log_pi

    def spy(gen_state, obs, action, log_pi_value=None, raw=None):
        calls.append((obs.shape[:-1], raw is None))
        return log_pi(gen_state, obs, action, log_pi_value, raw)

    plain._log_pi = spy
    state, _ = plain.run(state, 1)
    dcfg, rollout = plain.config.discriminator, (plain.generator.num_steps, plain.env.num_envs)
    assert calls == [((dcfg.expert_batch_size,), True), ((dcfg.policy_batch_size,), False), (rollout, False),
                     (rollout, False)], calls
    tr, draws = state.replay.data
    np.testing.assert_allclose(jnp.tanh(draws), tr.action, atol=1e-6)


def test_airl_clipped_log_pi_is_the_censored_gaussian_in_logit_and_reward():
    """``log_pi_space: clipped`` (a Gaussian policy, actions clipped to [-1, 1] by the env): the discriminator's
    and the generator reward's log π are the censored Gaussian's; inside the bounds equal to the plain one."""
    gen = {"policy_head": "gaussian"}
    plain, clipped = _trainer("airl", gen), _trainer("airl", gen, log_pi_space="clipped")
    state = plain.init(jax.random.PRNGKey(1))
    params = R.init(plain.model, jax.random.PRNGKey(0))
    obs = jax.random.normal(jax.random.PRNGKey(2), (4, 6))
    act = jnp.array([[0.1, -0.5], [1.7, 0.3], [-0.9, -4.0], [0.0, 0.0]])
    term = jnp.zeros(4)
    log_pi = plain.generator.log_prob(state.generator, obs, act)
    out = ppo.policy_output(plain.config.generator, state.generator, obs)
    ref = nets.clipped_log_prob(out, act)
    np.testing.assert_allclose(clipped._log_pi(state.generator, obs, act), ref, rtol=1e-6)
    np.testing.assert_allclose(ref[np.array([0, 3])], log_pi[np.array([0, 3])], rtol=1e-5)  # inside: unchanged
    assert np.all(np.asarray(ref[1:3]) > np.asarray(log_pi[1:3]))  # beyond the bounds: a tail's mass
    r_plain = plain._reward_of(params, state.generator)(obs, act, obs, term, log_pi)
    r_clip = clipped._reward_of(params, state.generator)(obs, act, obs, term, log_pi)  # the rollout's log π ignored
    np.testing.assert_allclose(r_plain - r_clip, ref - log_pi, rtol=1e-4, atol=1e-5)  # β = 1
    with pytest.raises(ValueError, match=r"log_pi_space: 'clipped'.*policy head 'tanh_gaussian'"):
        _trainer("airl", {"policy_head": "tanh_gaussian"}, log_pi_space="clipped")
    with pytest.raises(ValueError, match=r"log_pi_space: 'clipped'.*algorithm 'gail'"):
        _trainer("gail", gen, log_pi_space="clipped")


def test_absorbing_config_errors():
    with pytest.raises(ValueError, match="absorbing"):
        make_config("gail", "ppo", discriminator={"absorbing": "yes"})
    env = envs.make("pointmass", num_envs=2, episode_length=5)
    demos = envs.Transition(obs=jnp.zeros((4, 6)), action=jnp.zeros((4, 2)), reward=jnp.zeros(4),
                            next_obs=jnp.zeros((4, 6)), terminated=jnp.zeros(4), truncated=jnp.zeros(4))
    config = make_config("airl", "ppo", discriminator={"absorbing": True}, generator_config={"discount": 1.0})
    with pytest.raises(ValueError, match="discount < 1"):
        make_train(config, env, demos, expert_return=0.0)
    with pytest.raises(ValueError, match="absorbing=False"):
        model = R.make_reward_model("gail", obs_size=3, action_size=1)
        R.absorbing_score(model, R.init(model, jax.random.PRNGKey(0)))


@pytest.mark.parametrize("scale", [10.0, 200.0])
def test_absorbing_score_moves_absorbing_scale_times_the_learning_rate_per_update(scale):
    # Only the policy terminates, so every update pushes the absorbing score down; Adam's steps on its one
    # parameter are ~learning_rate each, so the score moves ~scale x learning_rate per update.
    from jaxirl.objectives import discriminator as D
    from jaxirl.objectives import get_objective

    objective = get_objective("airl")
    config = make_config("airl", "ppo", discriminator={"absorbing": True, "absorbing_scale": scale, "hidden": [8],
                                                      "potential_hidden": [8], "learning_rate": 1e-3}).discriminator
    model = D.make_model(config, objective, envs.make("pointmass", num_envs=2, episode_length=5))
    assert model.absorbing_scale == scale
    params = R.init(model, jax.random.PRNGKey(0))
    opt_state = D.optimizer(config).init(params.net)
    k = jax.random.split(jax.random.PRNGKey(1), 4)
    batch = lambda kk, term: R.encode(model, jax.random.normal(kk, (16, 6)), jnp.zeros((16, 2)),
                                      jax.random.normal(kk, (16, 6)), term)
    expert, policy = batch(k[0], jnp.zeros(16)), batch(k[1], jnp.zeros(16).at[::4].set(1.0))
    step = jax.jit(lambda p, o, kk: D.step(objective, model, config, p, o, expert, policy, jnp.zeros(16),
                                          jnp.zeros(16), 0.9, kk))
    for i in range(5):
        params, opt_state, _ = step(params, opt_state, k[2 + i % 2])
    moved = float(R.absorbing_score(model, params))
    np.testing.assert_allclose(moved, -5 * scale * 1e-3, rtol=0.05)


def test_absorbing_scale_errors():
    for bad in (0, -1.0, float("nan"), "fast", True):
        with pytest.raises(ValueError, match="absorbing_scale: expected a finite number > 0"):
            make_config("airl", "ppo", discriminator={"absorbing": True, "absorbing_scale": bad})
    with pytest.raises(ValueError, match="absorbing_scale"):
        R.make_reward_model("airl", obs_size=3, action_size=1, absorbing=True, absorbing_scale=float("inf"))
