"""Adversarial objectives: GAIL/AIRL logits and rewards against their formulas, BCE, penalties, replay,
and a discriminator that learns to separate expert from random data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import objectives as O
from jaxirl import reward as R
from jaxirl.envs import scripted_action
from jaxirl.objectives import discriminator as disc
from jaxirl.objectives import penalty, replay


def _airl_setup(key=0):
    model = R.make_reward_model("airl", obs_size=3, action_size=2, hidden=(8,), potential_hidden=(8,))
    params = R.init(model, jax.random.PRNGKey(key))
    k = jax.random.split(jax.random.PRNGKey(key + 1), 4)
    x = R.encode(
        model, jax.random.normal(k[0], (9, 3)), jax.random.normal(k[1], (9, 2)), jax.random.normal(k[2], (9, 3)),
        jnp.zeros(9).at[3].set(1.0),
    )
    log_pi = jax.random.uniform(k[3], (9,), minval=-6.0, maxval=0.0)
    return model, params, x, log_pi


def test_airl_logit_and_probability_match_definition():
    model, params, x, log_pi = _airl_setup()
    f = np.asarray(R.score(model, params, x, 0.95), np.float64)
    pi = np.exp(np.asarray(log_pi, np.float64))
    logit = O.airl.logit(model, params, x, log_pi, 0.95)
    np.testing.assert_allclose(logit, f - np.log(pi), rtol=1e-5, atol=1e-5)
    d = O.airl.discriminator_prob(model, params, x, log_pi, 0.95)
    np.testing.assert_allclose(d, np.exp(f) / (np.exp(f) + pi), rtol=1e-5)
    # generator reward: f - log pi for a plain RL generator, f for a MaxEnt one
    np.testing.assert_allclose(O.airl.generator_reward(model, params, x, log_pi, 0.95), f - np.log(pi), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(O.airl.generator_reward(model, params, x, None, 0.95, maxent=True), f, rtol=1e-6)
    weighted = O.airl.generator_reward(model, params, x, log_pi, 0.95, entropy_weight=0.1)
    np.testing.assert_allclose(weighted, f - 0.1 * np.log(pi), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(O.airl.generator_reward(model, params, x, log_pi, 0.95), np.log(d) - np.log(1 - d), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="log_pi"):
        O.airl.generator_reward(model, params, x, None, 0.95)


def test_gail_rewards_match_formulas_and_are_stable():
    model = R.make_reward_model("gail", obs_size=3, action_size=2, hidden=(8,))
    params = R.init(model, jax.random.PRNGKey(3))
    x = R.encode(model, jax.random.normal(jax.random.PRNGKey(4), (11, 3)), jax.random.normal(jax.random.PRNGKey(5), (11, 2)))
    logit = np.asarray(O.gail.logit(model, params, x), np.float64)
    d = 1.0 / (1.0 + np.exp(-logit))
    want = {"gail": -np.log(1 - d), "logit": np.log(d) - np.log(1 - d), "log_d": np.log(d)}
    for rt, value in want.items():
        got = O.gail.generator_reward(model, params, x, reward_type=rt)
        np.testing.assert_allclose(got, value, rtol=1e-4, atol=1e-5, err_msg=rt)
    extreme = jnp.array([-200.0, -30.0, 0.0, 30.0, 200.0])
    for rt in want:
        assert np.all(np.isfinite(O.gail.reward_from_logit(extreme, rt))), rt
    np.testing.assert_allclose(O.gail.reward_from_logit(extreme, "gail")[-1], 200.0, rtol=1e-6)
    np.testing.assert_allclose(O.gail.reward_from_logit(extreme, "log_d")[0], -200.0, rtol=1e-6)
    with pytest.raises(ValueError, match="reward_type"):
        O.gail.reward_from_logit(extreme, "airl")


def test_bce_matches_cross_entropy_with_expert_label_one():
    le = jnp.array([2.0, -1.0, 0.5, 50.0])
    lp = jnp.array([-3.0, 0.2, 60.0])
    neg_log_sig = lambda z: np.log1p(np.exp(-np.asarray(z, np.float64)))  # -log σ(z), fine for these z
    # expert label 1: -log D(x_E); policy label 0: -log(1 - D(x_π)) = -log σ(-ℓ)
    want = np.mean(neg_log_sig(le)) + np.mean(neg_log_sig(-lp))
    assert abs(want - (np.mean(neg_log_sig(le)) + (neg_log_sig(3.0) + neg_log_sig(-0.2) + 60.0) / 3)) < 1e-9
    got = O.discriminator_bce(le, lp)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    m = O.discriminator_metrics(le, lp)
    assert float(m["disc_acc_expert"]) == 0.75 and abs(float(m["disc_acc_policy"]) - 1 / 3) < 1e-6


@pytest.mark.parametrize("kind", ["wgan_gp", "r1"])
def test_gradient_penalty_of_a_linear_score(kind):
    # a linear score s(x) = w·[s, a] + b has ∇s = w everywhere
    model = R.make_reward_model("gail", obs_size=3, action_size=2, hidden=())
    params = R.init(model, jax.random.PRNGKey(6))
    w = np.asarray(params.net["score"]["params"]["Dense_0"]["kernel"])[:, 0]
    e = R.encode(model, jnp.ones((6, 3)), jnp.zeros((6, 2)))
    p = R.encode(model, -jnp.ones((4, 3)), jnp.ones((4, 2)))
    got = penalty.gradient_penalty(kind, lambda x: R.score(model, params, x), e, p, jax.random.PRNGKey(0))
    norm = np.linalg.norm(w)
    np.testing.assert_allclose(got, (norm - 1) ** 2 if kind == "wgan_gp" else norm**2, rtol=1e-4)
    mixed = penalty.interpolate(e, p, jax.random.PRNGKey(1))
    assert mixed.obs.shape == (4, 3)
    assert np.all(np.abs(np.asarray(mixed.obs)) <= 1.0)
    assert float(penalty.gradient_penalty("none", None, e, p, None)) == 0.0
    with pytest.raises(ValueError, match="penalty"):
        penalty.gradient_penalty("l2", None, e, p, None)


def _half_square(x):
    """``s(x) = ½ ‖(s, a, s')‖²`` per sample: ``∇_x s = x``, so the penalised gradient norm is the input's own norm."""
    return 0.5 * sum(jnp.sum(v.reshape(v.shape[0], -1) ** 2, axis=-1) for v in (x.obs, x.action, x.next_obs))


def _input_norm(x):
    return np.sqrt(sum(np.sum(np.asarray(v, np.float64).reshape(v.shape[0], -1) ** 2, -1)
                       for v in (x.obs, x.action, x.next_obs)))


def test_wgan_gp_interpolates_expert_with_policy():
    """WGAN-GP's inputs are ``x̂ = ε x_E + (1 − ε) x_π`` (one ``ε ~ U[0, 1]`` per pair, the first ``min(B_E, B_π)``
    of each batch): every leaf of a pair is mixed with the same ``ε`` — the key's ``uniform(key, (n,))`` draw —
    and with ``s = ½‖x‖²`` the penalty is ``mean((‖x̂‖ − 1)²)`` computed by hand."""
    model = R.make_reward_model("gail", obs_size=3, action_size=2, inputs="sas", hidden=())
    k = jax.random.split(jax.random.PRNGKey(11), 6)
    e = R.encode(model, jax.random.normal(k[0], (7, 3)), jax.random.normal(k[1], (7, 2)), jax.random.normal(k[2], (7, 3)))
    p = R.encode(model, 3.0 + jax.random.normal(k[3], (5, 3)), jax.random.normal(k[4], (5, 2)) - 2.0,
                 jax.random.normal(k[5], (5, 3)))
    key = jax.random.PRNGKey(4)
    eps = np.asarray(jax.random.uniform(key, (5,)), np.float64)
    assert eps.min() < 0.9 and eps.max() > 0.1
    mixed = penalty.interpolate(e, p, key)
    for name in ("obs", "action", "next_obs"):
        a, b = np.asarray(getattr(e, name), np.float64)[:5], np.asarray(getattr(p, name), np.float64)
        want = eps[:, None] * a + (1.0 - eps[:, None]) * b
        np.testing.assert_allclose(getattr(mixed, name), want, rtol=1e-5, atol=1e-5, err_msg=name)
    x_hat = jax.tree.map(lambda a: np.asarray(a, np.float64), mixed)
    want_gp = np.mean((_input_norm(x_hat) - 1.0) ** 2)
    got = penalty.gradient_penalty("wgan_gp", _half_square, e, p, key)
    np.testing.assert_allclose(got, want_gp, rtol=1e-4)
    # neither end alone: the same formula on the expert's (or the policy's) own inputs differs by far
    for end in (e, p):
        assert abs(np.mean((_input_norm(end)[:5] - 1.0) ** 2) - want_gp) > 0.5


def test_r1_is_taken_on_the_expert_inputs():
    """R1 is ``E[‖∇_x s(x_E)‖²]`` over the expert's inputs only: with ``s = ½‖x‖²``, expert inputs all 1 and policy
    inputs all 2 in three dimensions (s, a, s'), it is 3 (the policy's would be 12)."""
    model = R.make_reward_model("gail", obs_size=1, action_size=1, inputs="sas", hidden=())
    e = R.encode(model, jnp.ones((6, 1)), jnp.ones((6, 1)), jnp.ones((6, 1)))
    p = R.encode(model, 2 * jnp.ones((4, 1)), 2 * jnp.ones((4, 1)), 2 * jnp.ones((4, 1)))
    r1 = penalty.gradient_penalty("r1", _half_square, e, p, jax.random.PRNGKey(0))
    assert float(r1) == pytest.approx(3.0, rel=1e-5)
    # varied expert inputs: the mean of their squared norms, whatever the policy batch
    x = jax.random.normal(jax.random.PRNGKey(2), (6, 3))
    e = R.encode(model, x[:, :1], x[:, 1:2], x[:, 2:])
    r1 = penalty.gradient_penalty("r1", _half_square, e, p, jax.random.PRNGKey(0))
    np.testing.assert_allclose(r1, np.mean(_input_norm(e) ** 2), rtol=1e-5)


def test_constant_input_dimensions_do_not_blow_up_the_gradient_penalty():
    """A dimension that never varies (Brax humanoid has 6 zeros in its observation) has running variance 0: the
    input normaliser used to multiply it by 1/sqrt(1e-8) = 10⁴, so a penalty on the gradient with respect to the
    raw inputs was ~10⁸ too strong per such dimension and the discriminator did not learn.
    Such a dimension is now centred, not scaled; a varying one is scaled as before."""
    from jaxirl import nets

    norm = nets.RunningNorm(mean=jnp.array([2.0, 1.0, 0.0]), var=jnp.array([0.0, 1e-4, 4.0]), count=jnp.array(9.0))
    x = jnp.array([[2.5, 1.05, 1.0]])
    np.testing.assert_allclose(nets.normalize(norm, x), [[0.5, 5.0, 0.5]], rtol=1e-4)

    rng = np.random.default_rng(0)
    n, obs_size, constant = 256, 8, 3

    def data(shift):
        o = (rng.normal(size=(n, obs_size)) + shift).astype(np.float32)
        o[:, :constant] = 0.0
        return o, rng.uniform(-1, 1, (n, 2)).astype(np.float32)

    (eo, ea), (po, pa) = data(1.0), data(0.0)
    cfg = O.DiscriminatorConfig(learning_rate=1e-3, inputs="sa", hidden=(64, 64), penalty="r1", grad_penalty=1.0,
                                normalize_inputs=True).validate()
    model = R.make_reward_model("gail", obs_size=obs_size, action_size=2, inputs="sa", hidden=(64, 64), normalize=True)
    params = R.init(model, jax.random.PRNGKey(0))
    e, p = R.encode(model, eo, ea, eo), R.encode(model, po, pa, po)
    params = R.update_norm(model, R.update_norm(model, params, e), p)
    assert np.all(np.asarray(params.norm.var)[:constant] == 0.0)
    r1 = penalty.gradient_penalty("r1", lambda x: R.score(model, params, x), e, p, jax.random.PRNGKey(1))
    assert float(r1) < 10.0, float(r1)  # ~5e4 before
    objective = O.get_objective("gail")
    opt_state = disc.optimizer(cfg).init(params.net)
    step = jax.jit(lambda prm, opt, k: disc.step(objective, model, cfg, prm, opt, e, p, None, None, 0.99, k))
    for i in range(150):
        params, opt_state, m = step(params, opt_state, jax.random.PRNGKey(i))
    # after 150 steps 0.89 / 0.81 (0.95 / 0.88 with the constant dimensions dropped); before: 0.86 / 0.43, R1 ~5e4
    assert float(m["disc_acc_expert"]) > 0.75 and float(m["disc_acc_policy"]) > 0.75, m
    assert float(m["disc_penalty"]) < 1.0, m


def test_replay_keeps_the_most_recent_rollouts():
    example = {"x": jnp.zeros((5,), jnp.int32)}
    buf = replay.create(example, 2)
    buf = replay.add(buf, {"x": jnp.full((5,), 1, jnp.int32)})
    assert set(np.asarray(replay.sample(buf, jax.random.PRNGKey(0), 200)["x"]).tolist()) == {1}
    for v in (2, 3):
        buf = replay.add(buf, {"x": jnp.full((5,), v, jnp.int32)})
    assert set(np.asarray(replay.sample(buf, jax.random.PRNGKey(1), 200)["x"]).tolist()) == {2, 3}
    assert int(buf.filled) == 2
    with pytest.raises(ValueError, match="replay_rollouts"):
        replay.create(example, 0)


def _pointmass_like_data(key, n):
    """Expert (scripted controller) and uniformly random actions on the same random point-mass states."""
    k1, k2, k3 = jax.random.split(key, 3)
    obs = jnp.concatenate(
        [jax.random.uniform(k1, (n, 2), minval=-1, maxval=1), 0.3 * jax.random.normal(k2, (n, 2)),
         jax.random.uniform(k3, (n, 2), minval=-1, maxval=1)], -1)
    expert_a = scripted_action(obs)
    random_a = jax.random.uniform(jax.random.fold_in(key, 7), (n, 2), minval=-1, maxval=1)
    return obs, expert_a, random_a


@pytest.mark.parametrize("name, penalty_kind", [("gail", "none"), ("airl", "wgan_gp")])
def test_discriminator_separates_expert_from_random(name, penalty_kind):
    objective = O.get_objective(name)
    cfg = O.DiscriminatorConfig(
        learning_rate=3e-3, inputs="sa", hidden=(64, 64), penalty=penalty_kind,
        grad_penalty=0.0 if penalty_kind == "none" else 0.1,  # a weight without a penalty is refused
    ).validate()
    model = R.make_reward_model(objective.reward_kind, obs_size=6, action_size=2, inputs="sa", hidden=(64, 64))
    params = R.init(model, jax.random.PRNGKey(0))
    opt_state = disc.optimizer(cfg).init(params.net)
    log_pi_uniform = jnp.full((256,), -np.log(4.0))  # density of U[-1, 1]^2
    lp = log_pi_uniform if objective.uses_log_prob else None

    @jax.jit
    def train_step(carry, key):
        params, opt_state = carry
        obs, ea, ra = _pointmass_like_data(key, 256)
        e, p = R.encode(model, obs, ea, obs), R.encode(model, obs, ra, obs)
        params, opt_state, m = disc.step(objective, model, cfg, params, opt_state, e, p, lp, lp, 0.99, key)
        return (params, opt_state), m["disc_loss"]

    (params, _), losses = jax.lax.scan(train_step, (params, opt_state), jax.random.split(jax.random.PRNGKey(1), 400))
    obs, ea, ra = _pointmass_like_data(jax.random.PRNGKey(99), 2000)  # held-out
    lp_test = jnp.full((2000,), -np.log(4.0)) if objective.uses_log_prob else None
    le = objective.logit(model, params, R.encode(model, obs, ea, obs), lp_test, 0.99)
    lq = objective.logit(model, params, R.encode(model, obs, ra, obs), lp_test, 0.99)
    acc = 0.5 * (float(jnp.mean(le > 0)) + float(jnp.mean(lq < 0)))
    assert acc > 0.9, acc
    assert float(losses[-50:].mean()) < 0.6 * float(losses[:10].mean())  # BCE fell well below its start


def test_config_validation_and_registry():
    with pytest.raises(ValueError, match="algorithm"):
        O.get_objective("bc")
    with pytest.raises(ValueError, match="learning_rate"):
        O.DiscriminatorConfig(learning_rate=-1.0).validate()
    with pytest.raises(ValueError, match="penalty"):
        O.DiscriminatorConfig(penalty="gp").validate()
    with pytest.raises(ValueError, match="num_steps"):
        O.DiscriminatorConfig(num_steps=0).validate()
    with pytest.raises(ValueError, match="log_pi_space"):
        O.DiscriminatorConfig(log_pi_space="pre_tanh").validate()
    with pytest.raises(ValueError, match="reward_type"):
        O.DiscriminatorConfig(reward_type="logit").resolved_reward_type(O.get_objective("airl"))
    assert O.DiscriminatorConfig().resolved_reward_type(O.get_objective("gail")) == "logit"
    # numeric fields are traced: a vmap over the discriminator learning rate works
    lrs = jnp.array([1e-3, 1e-2])
    cfgs = jax.vmap(lambda lr: O.DiscriminatorConfig(learning_rate=lr))(lrs)
    np.testing.assert_allclose(cfgs.learning_rate, lrs)


def test_replay_samples_every_filled_transition():
    """Uniform over the filled slots, every transition reachable (an upper bound one short never drew the last)."""
    buf = replay.create({"x": jnp.zeros((5,), jnp.int32)}, 3)
    buf = replay.add(buf, {"x": jnp.arange(5)})
    assert set(np.asarray(replay.sample(buf, jax.random.PRNGKey(0), 500)["x"]).tolist()) == set(range(5))
    buf = replay.add(buf, {"x": jnp.arange(5, 10)})
    assert set(np.asarray(replay.sample(buf, jax.random.PRNGKey(1), 1000)["x"]).tolist()) == set(range(10))


def _lsgan():
    """A least-squares GAN discriminator (Mao et al. 2017) over GAIL's network: expert target 1, policy 0,
    generator reward −(ℓ − 1)²."""
    return O.gail.OBJECTIVE._replace(
        name="lsgan", reward_types=("lsgan",),
        generator_reward=lambda model, params, inputs, *args, **kw: -(O.gail.logit(model, params, inputs) - 1) ** 2,
        absorbing_reward=lambda logit, reward_type: -(logit - 1) ** 2,
        expert_loss=lambda z: (z - 1) ** 2, policy_loss=jnp.square)


@pytest.mark.parametrize("absorbing", [False, True])
def test_the_discriminator_step_takes_an_objectives_own_loss(absorbing):
    """``disc.step`` reports (and descends) the objective's loss per sample — with absorbing states, each absorbing
    transition one more sample of its side — not the built-in cross-entropy (which it ignored before)."""
    lsgan = _lsgan()
    model = R.make_reward_model("gail", obs_size=3, action_size=2, hidden=(8,), absorbing=absorbing)
    params = R.init(model, jax.random.PRNGKey(0))
    k = jax.random.split(jax.random.PRNGKey(1), 4)
    terminated = jnp.zeros(8).at[2].set(1.0)
    e = R.encode(model, jax.random.normal(k[0], (8, 3)), jax.random.normal(k[1], (8, 2)), None, terminated)
    p = R.encode(model, jax.random.normal(k[2], (8, 3)), jax.random.normal(k[3], (8, 2)), None, 0 * terminated)
    cfg = O.DiscriminatorConfig(learning_rate=1e-3).validate()
    opt = disc.optimizer(cfg).init(params.net)
    le, lp = O.gail.logit(model, params, e), O.gail.logit(model, params, p)
    want = float(jnp.mean((le - 1) ** 2) + jnp.mean(lp ** 2))
    if absorbing:
        la = R.absorbing_score(model, params)
        want = float((jnp.mean((le - 1) ** 2) + (la - 1) ** 2 / 8) / (1 + 1 / 8) + jnp.mean(lp ** 2))
    # an objective's metrics sit beside the step's loss and penalty, never in their place
    lsgan = lsgan._replace(metrics=lambda le, lp: {"disc_loss": jnp.zeros(()), "mean_logit": jnp.mean(le)})
    for objective, expected in ((lsgan, want), (O.gail.OBJECTIVE, None)):
        _, _, m = disc.step(objective, model, cfg, params, opt, e, p, None, None, 0.99, jax.random.PRNGKey(2))
        if expected is not None:
            np.testing.assert_allclose(float(m["disc_loss"]), expected, rtol=1e-6)
        else:  # the default is still the cross-entropy
            assert abs(float(m["disc_loss"]) - want) > 0.1


def test_a_registered_objective_trains_with_its_own_loss(objective_registry, reward_kind_registry):
    """``register_objective``: its name is a ``train.algorithm``; the run's discriminator descends the objective's
    loss and reports its metrics; its learned reward, a form the library does not compute, is refused unless a
    ``which`` is named (it was silently the logit); bad records are refused by field."""
    from jaxirl import envs
    from jaxirl.envs import Transition
    from jaxirl.train import make_train
    from jaxirl.train_config import make_config

    moments = lambda le, lp: {"e1": jnp.mean(le), "e2": jnp.mean(le ** 2), "p2": jnp.mean(lp ** 2)}  # noqa: E731
    lsgan = O.register_objective(_lsgan()._replace(metrics=moments))
    assert O.get_objective("lsgan") is lsgan and O.register_objective(lsgan) is lsgan  # the same one again: fine
    # other code may not take the name (the message names who registered it); this module again (a reload) replaces
    with pytest.raises(ValueError, match=r"'lsgan' is already an objective \(registered by (tests\.)?test_objectives "
                                         r"at .*test_objectives.py\)"):
        exec("O.register_objective(lsgan._replace(metrics=None or lsgan.metrics))",  # noqa: S102
             {"O": O, "lsgan": lsgan, "__name__": "other_mod", "__file__": "other_mod.py"})
    assert O.register_objective(lsgan._replace(reward_types=("lsgan",))) is O.get_objective("lsgan")
    lsgan = O.get_objective("lsgan")
    env = envs.make("pointmass", 4, episode_length=10)
    obs = jax.random.normal(jax.random.key(1), (64, env.observation_size))
    demos = Transition(obs=obs, action=jnp.clip(scripted_action(obs), -1, 1), reward=jnp.zeros(64), next_obs=obs,
                       terminated=jnp.zeros(64), truncated=jnp.zeros(64))
    small = dict(hidden=(8,))
    config = make_config("lsgan", "ppo", num_iterations=2, eval_every=0,
                         discriminator=dict(small, num_steps=1, expert_batch_size=32, policy_batch_size=32,
                                            learning_rate=1e-9),
                         generator_config=dict(small, num_steps=8, num_minibatches=1, update_epochs=1))
    trainer = make_train(config, env, demos, expert_return=1.0, random_return=0.0)
    state = trainer.init(jax.random.key(2))
    _, metrics = trainer.run(state, 1)
    # the run's discriminator loss is LSGAN's E[(ℓ_E − 1)²] + E[ℓ_π²], by the objective's own metrics of the batch
    m = {k: float(v[0]) for k, v in metrics.items() if k in ("disc_loss", "e1", "e2", "p2")}
    np.testing.assert_allclose(m["disc_loss"], m["e2"] - 2 * m["e1"] + 1 + m["p2"], rtol=1e-5)
    with pytest.raises(ValueError, match="reward_type 'lsgan'.*which= in Python, train.reward_which="):
        trainer.reward_fn(state)
    # an objective's mistakes are found when the trainer is made, not inside the first compilation: an output that is
    # not one float per sample; a network of one's own that its logit calls without the run's γ
    O.register_objective(lsgan._replace(name="lsgan_col", logit=lambda m, p, i, lp, d: O.gail.logit(m, p, i)[:, None]))
    with pytest.raises(ValueError, match=r"logit: objective 'lsgan_col' must return one float per sample, shape "
                                         r"\(2,\), got \(2, 1\)"):
        make_train(config.replace(algorithm="lsgan_col"), env, demos, expert_return=1.0, random_return=0.0)
    R.register_reward_kind(R.RewardKind("lin", lambda m, k: {"w": jnp.zeros(R.input_width(m))},
                                        lambda m, net, x, d: R.input_vector(m, x) @ net["w"] * d))
    O.register_objective(lsgan._replace(name="lsgan_lin", reward_kind="lin"))  # its generator_reward drops γ
    with pytest.raises(ValueError, match="discount: the score of reward kind 'lin' .* pass discount="):
        make_train(config.replace(algorithm="lsgan_lin"), env, demos, expert_return=1.0, random_return=0.0)
    assert trainer.reward_fn(state, which="logit")(obs[:3], demos.action[:3]).shape == (3,)
    # β (entropy_weight, its anneal) is accepted for an objective that declares it reads it, refused for one that does
    O.register_objective(O.airl.OBJECTIVE._replace(name="my_airl"))
    O.register_objective(O.gail.OBJECTIVE._replace(name="my_gail"))
    make_config("my_airl", "ppo", discriminator=dict(entropy_weight=0.5, entropy_anneal_iterations=10))
    with pytest.raises(ValueError, match="discriminator.entropy_weight: only AIRL's generator reward"):
        make_config("my_gail", "ppo", discriminator=dict(entropy_weight=0.5))
    with pytest.raises(ValueError, match="algorithm: expected one of .*register_objective has run in the process"):
        make_config("unregistered", "ppo")
    for bad, message in (
        (lsgan._replace(name="gail"), "already an objective"),
        (lsgan._replace(name="my lsgan"), "name: expected an identifier"),
        (lsgan._replace(name="x", reward_kind="mlp"), "reward_kind"),
        (lsgan._replace(name="x", reward_types=()), "reward_types"),
        (lsgan._replace(name="x", expert_loss=None), "expert_loss: expected a function"),
        (lsgan._replace(name="x", uses_entropy_weight=1), "uses_entropy_weight: expected True or False"),
        ("lsgan", "expected a jaxirl.objectives.Objective"),
    ):
        with pytest.raises(ValueError, match=message):
            O.register_objective(bad)


GAMMA_KIND = """
import jax, jax.numpy as jnp
from jaxirl import reward as R
from jaxirl.objectives import gail, register_objective


def init(model, key):
    return {"w": jax.random.normal(key, (R.input_width(model),)), "b": jnp.ones(())}


def score(model, net, inputs, discount):  # a logit that reads the run's γ
    return R.input_vector(model, inputs) @ net["w"] + net["b"] * discount


R.register_reward_kind(R.RewardKind(name="gamma_logit", init=init, score=score))
register_objective(gail.OBJECTIVE._replace(name="gail_gamma", reward_kind="gamma_logit"))
"""


def test_a_registered_reward_kind_is_trained_saved_and_loaded_with_the_runs_gamma(
        objective_registry, reward_kind_registry, tmp_path, monkeypatch):
    """A logit kind of one's own trained by a registered objective with reward_type 'gail' and an absorbing state:
    ``trainer.reward_fn``, ``save_reward`` + ``load_reward`` (in a process that never registered it: the module
    recorded in ``reward_model.json`` is imported) and ``load_transfer_reward`` all give GAIL's ``softplus`` of its
    score computed with the run's γ (not 0.99), and the absorbing state's value is GAIL's form of its score."""
    import os
    import sys
    import types

    from jaxirl import envs, io, load_reward, plugins
    from jaxirl.envs import Transition
    from jaxirl.jobs.train import load_transfer_reward, save_reward
    from jaxirl.train import make_train
    from jaxirl.train_config import make_config

    (tmp_path / "gamma_kind_mod.py").write_text(GAMMA_KIND)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_IMPORTED", {})
    monkeypatch.delitem(sys.modules, "gamma_kind_mod", raising=False)
    import gamma_kind_mod  # noqa: F401

    gamma = 0.5
    env = envs.make("pointmass", 4, episode_length=10)
    obs = jax.random.normal(jax.random.key(1), (16, env.observation_size))
    act = jnp.clip(scripted_action(obs), -1, 1)
    demos = Transition(obs=obs, action=act, reward=jnp.zeros(16), next_obs=obs, terminated=jnp.zeros(16),
                       truncated=jnp.zeros(16))
    config = make_config("gail_gamma", "ppo", num_iterations=2, eval_every=0,
                         discriminator=dict(hidden=(8,), reward_type="gail", absorbing=True, expert_batch_size=8,
                                            policy_batch_size=8),
                         generator_config=dict(hidden=(8,), num_steps=8, num_minibatches=1, update_epochs=1,
                                               discount=gamma))
    trainer = make_train(config, env, demos, expert_return=1.0, random_return=0.0)
    params = R.init(trainer.model, jax.random.PRNGKey(0))
    params = params.replace(net={**params.net, "absorbing": jnp.asarray(0.2)})
    state = types.SimpleNamespace(reward=params)
    want = jax.nn.softplus(obs[:3] @ params.net["w"][:env.observation_size]
                           + act[:3] @ params.net["w"][env.observation_size:] + params.net["b"] * gamma)
    np.testing.assert_allclose(trainer.reward_fn(state)(obs[:3], act[:3]), want, rtol=1e-5)
    run = save_reward(str(tmp_path / "run"), trainer, state)
    spec = io.read_json(os.path.join(run, "reward_model.json"))
    assert spec["kind_module"] == "gamma_kind_mod" and spec["kind_file"].endswith("gamma_kind_mod.py")
    # as in a new process: nothing registered, the module not imported, no config.yaml to list it
    del reward_kind_registry["gamma_logit"], objective_registry["gail_gamma"], sys.modules["gamma_kind_mod"]
    np.testing.assert_allclose(load_reward(run)(obs[:3], act[:3]), want, rtol=1e-5)
    transfer = load_transfer_reward(run)
    ended = Transition(obs=obs[:3], action=act[:3], reward=jnp.zeros(3), next_obs=obs[:3],
                       terminated=jnp.array([0.0, 1.0, 0.0]), truncated=jnp.zeros(3))
    r_abs = jax.nn.softplus(R.absorbing_score(trainer.model, params))
    np.testing.assert_allclose(transfer(ended, 0.9), want + jnp.array([0.0, 1.0, 0.0]) * r_abs * 0.9 / 0.1,
                               rtol=1e-5)


def test_a_registered_reward_kinds_outputs_are_checked_when_the_trainer_is_made(objective_registry,
                                                                                 reward_kind_registry):
    """``make_train`` traces a kind of one's own before anything compiles: a ``learned`` reward of the wrong shape
    (never traced by training) is refused there, naming the kind."""
    from jaxirl import envs
    from jaxirl.envs import Transition
    from jaxirl.train import make_train
    from jaxirl.train_config import make_config

    R.register_reward_kind(R.RewardKind(
        name="scalar_reward", init=lambda m, k: {"w": jnp.zeros((R.input_width(m),))},
        score=lambda m, net, x, d: R.input_vector(m, x) @ net["w"],
        learned=lambda m, net, x, which, d: jnp.sum(net["w"]), rewards=("r",)))
    O.register_objective(O.airl.OBJECTIVE._replace(name="airl_scalar", reward_kind="scalar_reward"))
    env = envs.make("pointmass", 4, episode_length=10)
    obs = jnp.zeros((16, env.observation_size))
    demos = Transition(obs=obs, action=jnp.zeros((16, env.action_size)), reward=jnp.zeros(16), next_obs=obs,
                       terminated=jnp.zeros(16), truncated=jnp.zeros(16))
    config = make_config("airl_scalar", "ppo", num_iterations=2, eval_every=0, discriminator=dict(hidden=(8,)),
                         generator_config=dict(hidden=(8,), num_steps=8, num_minibatches=1, update_epochs=1))
    with pytest.raises(ValueError, match=r"learned: reward kind 'scalar_reward' must return one float per sample"):
        make_train(config, env, demos, expert_return=1.0, random_return=0.0)


def test_a_registered_objective_may_not_take_one_of_jaxirls_own_names(objective_registry):
    """The message for a built-in name says so (no registrant to name)."""
    with pytest.raises(ValueError, match=r"'gail' is already an objective \(one of jaxirl's own\); choose another"):
        O.register_objective(O.airl.OBJECTIVE._replace(name="gail"))
