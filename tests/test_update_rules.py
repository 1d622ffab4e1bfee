"""The update rules' details that end-to-end learning does not pin down (a mutation audit found each of these bugs
passed the rest of the suite): PPO's per-epoch reshuffle, learning-rate annealing, actor warm-up cap, gradient
clipping, vf_coef, the BC term; the discriminator's clipping, penalty weight, K steps and carried Adam state; the
trainer's BC-weight decay and warm-start normaliser; the networks' activations, initialisation and state-dependent std."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxirl import envs, nets
from jaxirl import reward as R
from jaxirl.objectives import discriminator as D
from jaxirl.objectives import get_objective
from jaxirl.rl import ppo
from jaxirl.train import make_train
from jaxirl.train_config import make_config

from helpers import shift_policy_mean


def _small_rollout(cfg, seed=0, num_envs=4, episode_length=20):
    env = envs.make("pointmass", num_envs, episode_length=episode_length)
    state = ppo.init(cfg, env, jax.random.PRNGKey(seed))
    _, ro = ppo.rollout(cfg, state, env, env.reset(jax.random.PRNGKey(seed + 1)), jax.random.PRNGKey(seed + 2))
    return env, state, ro


def _flat_batch(cfg, ro):
    adv, target = ppo.gae(ro.transition.reward, ro.value, ro.next_value, ro.transition.terminated,
                          ro.transition.truncated, cfg.discount, cfg.gae_lambda)
    flat = lambda x: x.reshape((-1,) + x.shape[2:])  # noqa: E731
    return {"obs": flat(ro.transition.obs), "raw_action": flat(ro.raw_action), "log_prob": flat(ro.log_prob),
            "advantage": flat(adv), "target": flat(target)}


def _max_change(a, b):
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


# --- PPO ------------------------------------------------------------------------------------------------------------

def test_every_epoch_reshuffles_the_whole_rollout(monkeypatch):
    """Each of the update_epochs passes covers every rollout step exactly once, in a fresh order per epoch."""
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=2, update_epochs=3, hidden=(8,))
    _, state, ro = _small_rollout(cfg)
    seen, orig = [], ppo.minibatches

    def spy(data, key, m, groups=1):
        out = orig(data, key, m, groups)
        jax.debug.callback(lambda x: seen.append(np.asarray(x)), out["obs"], ordered=True)
        return out

    monkeypatch.setattr(ppo, "minibatches", spy)
    jax.block_until_ready(ppo.update(cfg, state, ro, ro.transition.reward, jax.random.PRNGKey(3)))
    assert len(seen) == 3
    rows = np.asarray(ro.transition.obs).reshape(-1, 6)
    key = lambda a: np.asarray(sorted(map(tuple, a.reshape(-1, 6))))  # noqa: E731
    for s in seen:
        np.testing.assert_array_equal(key(s), key(rows))
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.array_equal(seen[i], seen[j]), (i, j)


def test_annealed_learning_rate_is_linear_from_the_full_rate_at_update_0():
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=2, update_epochs=2, hidden=(8,), learning_rate=1e-2,
                        anneal_lr_updates=10)
    np.testing.assert_allclose([float(ppo.learning_rate_at(cfg, s)) for s in (0, 4, 10, 15)],
                               [1e-2, 6e-3, 0.0, 0.0], rtol=1e-6, atol=0)
    _, state, ro = _small_rollout(cfg)
    key = jax.random.PRNGKey(4)
    ann0, m0 = ppo.update(cfg, state, ro, ro.transition.reward, key)
    plain0, _ = ppo.update(cfg.replace(anneal_lr_updates=0), state, ro, ro.transition.reward, key)
    assert float(m0["learning_rate"]) == pytest.approx(1e-2)
    jax.tree.map(np.testing.assert_array_equal, ann0.params, plain0.params)  # update 0: the full rate
    s4 = state.replace(step=jnp.asarray(4, jnp.int32))
    ann4, m4 = ppo.update(cfg, s4, ro, ro.transition.reward, key)
    slow4, _ = ppo.update(cfg.replace(anneal_lr_updates=0, learning_rate=6e-3), s4, ro, ro.transition.reward, key)
    assert float(m4["learning_rate"]) == pytest.approx(6e-3)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), ann4.params, slow4.params)


def test_actor_warmup_is_capped_at_the_full_rate():
    """Past the warm-up (u >= W) the actor's step is the plain one, bit for bit — min(1, u / W), not u / W."""
    base = dict(num_steps=8, num_minibatches=2, update_epochs=2, hidden=(8,), learning_rate=1e-2)
    plain_cfg, warm_cfg = ppo.PPOConfig(**base), ppo.PPOConfig(**base, actor_warmup_updates=4)
    _, state, ro = _small_rollout(plain_cfg)
    s8 = state.replace(step=jnp.asarray(8, jnp.int32))
    key = jax.random.PRNGKey(5)
    warm, m = ppo.update(warm_cfg, s8, ro, ro.transition.reward, key)
    plain, _ = ppo.update(plain_cfg, s8, ro, ro.transition.reward, key)
    assert float(m["actor_learning_rate"]) == pytest.approx(1e-2)
    jax.tree.map(np.testing.assert_array_equal, warm.params, plain.params)


def test_ppo_gradients_are_clipped_to_max_grad_norm_before_adam():
    """With max_grad_norm = 1e-7 every gradient element is <= 1e-7, so Adam's step (|m̂| / (√v̂ + 1e-5)) is
    <= 0.01 of the rate: K steps move no parameter by more than K · lr · 0.01. Unclipped, steps are ~lr."""
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=2, update_epochs=2, hidden=(8,), learning_rate=1e-2)
    _, state, ro = _small_rollout(cfg)
    key = jax.random.PRNGKey(6)
    tight, m = ppo.update(cfg.replace(max_grad_norm=1e-7), state, ro, ro.transition.reward, key)
    loose, _ = ppo.update(cfg, state, ro, ro.transition.reward, key)
    assert float(m["grad_norm"]) > 1e-3  # the clip acts
    k = cfg.update_epochs * cfg.num_minibatches
    assert _max_change(tight.params, state.params) <= k * 1e-2 * 0.0101
    assert _max_change(loose.params, state.params) > 0.5e-2


def test_total_loss_weights_the_value_loss_by_vf_coef():
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(8,), policy_head="gaussian")
    _, state, ro = _small_rollout(cfg)
    batch, key = _flat_batch(cfg, ro), jax.random.PRNGKey(5)
    for vf in (0.5, 2.0):
        total, aux = ppo._loss(cfg.replace(vf_coef=vf), state, state.params, batch, key)
        assert float(aux["value_loss"]) > 1e-3
        assert float(total) == pytest.approx(float(aux["policy_loss"]) + vf * float(aux["value_loss"]), rel=1e-5,
                                             abs=1e-7)


def test_bc_term_is_weighted_nll_and_leaves_the_log_std_alone():
    """The BC term adds weight · mean(−log π(a|s)) over the demos it is given, and no gradient to a
    state-independent log std (held fixed in that term)."""
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(8,), policy_head="gaussian")
    _, state, ro = _small_rollout(cfg)
    batch, key = _flat_batch(cfg, ro), jax.random.PRNGKey(5)
    obs = jax.random.normal(jax.random.PRNGKey(8), (16, 6))
    act = jax.random.uniform(jax.random.PRNGKey(9), (16, 2), minval=-1, maxval=1)
    (l0, _), g0 = jax.value_and_grad(lambda p: ppo._loss(cfg, state, p, batch, key), has_aux=True)(state.params)
    (l1, aux1), g1 = jax.value_and_grad(lambda p: ppo._loss(cfg, state, p, batch, key, (obs, act, jnp.asarray(3.0))),
                                        has_aux=True)(state.params)
    nll = -float(jnp.mean(ppo.log_prob(cfg, state, obs, act)))
    assert float(aux1["bc_nll"]) == pytest.approx(nll, rel=1e-5)
    assert float(l1) - float(l0) == pytest.approx(3.0 * nll, rel=1e-5)
    np.testing.assert_array_equal(g1["actor"]["params"]["log_std"], g0["actor"]["params"]["log_std"])
    assert _max_change(g1["actor"], g0["actor"]) > 1e-3  # the mean is pulled


def test_bc_term_draws_minibatch_demos_from_all_of_them(monkeypatch):
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=2, update_epochs=4, hidden=(8,))
    _, state, ro = _small_rollout(cfg)
    m = 64  # 4 x the minibatch of 16
    obs = jnp.zeros((m, 6)).at[:, 0].set(jnp.arange(m, dtype=jnp.float32))
    act = jnp.zeros((m, 2))
    drawn, orig = [], ppo.demo_nll

    def spy(config, state, params, o, a, fit_std=False):
        jax.debug.callback(lambda x: drawn.append(np.asarray(x)), o[:, 0], ordered=True)
        return orig(config, state, params, o, a, fit_std)

    monkeypatch.setattr(ppo, "demo_nll", spy)
    jax.block_until_ready(ppo.update(cfg, state, ro, ro.transition.reward, jax.random.PRNGKey(3),
                                     bc=(obs, act, 1.0)))
    assert len(drawn) == 8 and all(d.shape == (16,) for d in drawn)
    idx = np.concatenate(drawn).astype(int)
    assert idx.min() >= 0 and idx.max() < m
    assert np.mean(idx >= 16) > 0.5 and len(set(idx.tolist())) > 40, idx


# --- discriminator --------------------------------------------------------------------------------------------------

def _disc_setup(**cfg):
    objective = get_objective("gail")
    config = D.DiscriminatorConfig(learning_rate=1e-3, hidden=(16,), **cfg).validate()
    model = R.make_reward_model("gail", obs_size=6, action_size=2, hidden=(16,), activation="tanh")
    params = R.init(model, jax.random.PRNGKey(0))
    k = jax.random.split(jax.random.PRNGKey(1), 4)
    e = R.encode(model, jax.random.normal(k[0], (32, 6)), jax.random.uniform(k[1], (32, 2), minval=-1), None)
    p = R.encode(model, 2 + jax.random.normal(k[2], (32, 6)), jax.random.uniform(k[3], (32, 2), minval=-1), None)
    opt = D.optimizer(config).init(params.net)
    return objective, model, config, params, opt, e, p


def _adam_mu(opt_state):
    return next(s for s in jax.tree.leaves(opt_state, is_leaf=lambda x: isinstance(x, optax.ScaleByAdamState))
                if isinstance(s, optax.ScaleByAdamState)).mu


def test_discriminator_clips_the_global_norm_keeping_the_direction():
    """Adam's first moment after one step is (1 − b1) × the clipped gradient: with clipping to c below the gradient's
    norm ‖g‖ it is exactly (c / ‖g‖) times the unclipped one (an element-wise clip changes the direction; a mutation
    audit found the clip's kind untested)."""
    objective, model, config, params, opt, e, p = _disc_setup(max_grad_norm=1e6)
    key = jax.random.PRNGKey(2)
    step = jax.jit(D.step, static_argnums=(0, 1))  # max_grad_norm is traced: one compile for both calls
    _, free, m = step(objective, model, config, params, opt, e, p, None, None, 0.99, key)
    norm = float(m["disc_grad_norm"])
    c = 0.05 * norm
    clipped_cfg = config.replace(max_grad_norm=c)
    _, clipped, _ = step(objective, model, clipped_cfg, params, D.optimizer(clipped_cfg).init(params.net), e, p,
                         None, None, 0.99, key)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b * (c / norm), rtol=1e-4, atol=1e-9),
                 _adam_mu(clipped), _adam_mu(free))
    with pytest.raises(ValueError, match="max_grad_norm: expected a finite number > 0"):
        D.DiscriminatorConfig(max_grad_norm=0.0).validate()


def test_discriminator_gradients_are_clipped_to_max_grad_norm():
    """max_grad_norm = 1e-10: every element <= 1e-10, Adam's (eps 1e-8) step <= 0.01 of the learning rate."""
    objective, model, config, params, opt, e, p = _disc_setup(max_grad_norm=1e-10)
    new, _, m = D.step(objective, model, config, params, opt, e, p, None, None, 0.99, jax.random.PRNGKey(2))
    assert float(m["disc_grad_norm"]) > 1e-3
    assert _max_change(new.net, params.net) <= 1e-3 * 0.0101
    c2 = config.replace(max_grad_norm=10.0)
    loose, _, _ = D.step(objective, model, c2, params, D.optimizer(c2).init(params.net), e, p, None, None, 0.99,
                         jax.random.PRNGKey(2))
    assert _max_change(loose.net, params.net) > 0.5e-3


def test_the_gradient_penalty_weight_acts_on_the_step():
    objective, model, c0, params, opt, e, p = _disc_setup(penalty="r1", grad_penalty=0.0)
    key = jax.random.PRNGKey(2)
    s0, _, m0 = D.step(objective, model, c0, params, opt, e, p, None, None, 0.99, key)
    s1, _, m1 = D.step(objective, model, c0.replace(grad_penalty=100.0), params, opt, e, p, None, None, 0.99, key)
    assert float(m0["disc_penalty"]) == pytest.approx(float(m1["disc_penalty"])) and float(m1["disc_penalty"]) > 0
    assert _max_change(s0.net, s1.net) > 1e-4
    # the heavily penalised step lowers the penalty more than the unpenalised one
    pen = lambda prm: float(D.penalty_lib.gradient_penalty(  # noqa: E731
        "r1", lambda x: R.score(model, prm, x), e, p, key))
    assert pen(s1) < pen(s0)


def _pointmass_and_random_demos():
    """A 4-env pointmass and 32 random stand-in demonstration transitions."""
    env = envs.make("pointmass", num_envs=4, episode_length=10)
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    return env, envs.Transition(obs=jax.random.normal(k[0], (32, 6)), action=jax.random.uniform(k[1], (32, 2), minval=-1),
                                reward=jnp.zeros(32), next_obs=jax.random.normal(k[2], (32, 6)),
                                terminated=jnp.zeros(32), truncated=jnp.zeros(32))


def test_trainer_takes_num_steps_discriminator_steps_and_carries_adam_state():
    env, demos = _pointmass_and_random_demos()
    config = make_config("gail", "ppo", discriminator={"hidden": [8], "num_steps": 3, "expert_batch_size": 16,
                                                       "policy_batch_size": 16},
                         generator_config={"num_steps": 4, "hidden": [8]}, num_iterations=2, eval_every=0)
    trainer = make_train(config, env, demos, expert_return=0.0, random_return=-1.0)
    state, _ = trainer.run(trainer.init(jax.random.PRNGKey(0)), 2)
    adam = [s for s in jax.tree.leaves(state.disc_opt_state, is_leaf=lambda x: isinstance(x, optax.ScaleByAdamState))
            if isinstance(s, optax.ScaleByAdamState)]
    assert [int(s.count) for s in adam] == [6]  # 3 steps in each of 2 iterations, one Adam state carried through


def test_trainer_decays_the_bc_term_weight_with_the_iteration():
    env, demos = _pointmass_and_random_demos()
    config = make_config("gail", "ppo", discriminator={"hidden": [8], "expert_batch_size": 16, "policy_batch_size": 16},
                         generator_config={"num_steps": 4, "hidden": [8]}, num_iterations=4, eval_every=0,
                         bc=dict(coef=2.0, coef_decay_iterations=4))
    trainer = make_train(config, env, demos, expert_return=0.0, random_return=-1.0)
    weights, gen = [], trainer.generator
    trainer.generator = gen._replace(
        update=lambda s, ro, r, kk, bc=None: (weights.append(float(bc[2])), gen.update(s, ro, r, kk, bc))[1])
    state0 = trainer.init(jax.random.PRNGKey(0))
    for it in (0, 3):
        trainer._iteration(state0.replace(iteration=jnp.asarray(it, jnp.int32)), trainer.demos)
    np.testing.assert_allclose(weights, [2.0, 0.5], rtol=1e-6)  # 2 · (1 − it / 4)


# --- reward models and networks -------------------------------------------------------------------------------------

_NP_ACT = {
    "tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0), "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x / (1 + np.exp(-x)), "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
}


def _np_mlp(variables, x, activation):
    p = variables["params"]
    names = sorted(p, key=lambda n: int(n.split("_")[1]))
    x = np.asarray(x, np.float64)
    for i, n in enumerate(names):
        x = x @ np.asarray(p[n]["kernel"], np.float64) + np.asarray(p[n]["bias"], np.float64)
        if i < len(names) - 1:
            x = _NP_ACT[activation](x)
    return x


@pytest.mark.parametrize("activation", sorted(_NP_ACT))
def test_mlp_applies_the_named_activation(activation):
    net = nets.MLP(hidden=(5, 4), out_dim=3, activation=activation)
    x = 2.0 * jax.random.normal(jax.random.PRNGKey(0), (7, 6))
    v = net.init(jax.random.PRNGKey(1), x)
    np.testing.assert_allclose(net.apply(v, x), _np_mlp(v, x, activation), rtol=1e-4, atol=1e-5)


def test_reward_networks_use_the_model_activation():
    """AIRL's f = g + γ(1 − d) h(s') − h(s) with g and h both ELU MLPs (written out in numpy; not tanh, the MLP's
    own default, which a model forgetting its activation would fall back to)."""
    model = R.make_reward_model("airl", obs_size=3, action_size=2, inputs="sa", hidden=(8,), potential_hidden=(5,),
                                activation="elu")
    params = R.init(model, jax.random.PRNGKey(0))
    k = jax.random.split(jax.random.PRNGKey(1), 4)
    obs, nxt = 2 * jax.random.normal(k[0], (9, 3)), 2 * jax.random.normal(k[1], (9, 3))
    act, term = jax.random.uniform(k[2], (9, 2), minval=-1), (jax.random.uniform(k[3], (9,)) < 0.4).astype(jnp.float32)
    f = R.score(model, params, R.encode(model, obs, act, nxt, term), 0.9)
    g = _np_mlp(params.net["score"], np.concatenate([obs, act], -1), "elu")[:, 0]
    h, h2 = (_np_mlp(params.net["potential"], o, "elu")[:, 0] for o in (obs, nxt))
    np.testing.assert_allclose(f, g + 0.9 * (1 - np.asarray(term)) * h2 - h, rtol=1e-4, atol=1e-5)


def test_mlp_and_policy_init_variances():
    """Hidden kernels: variance 2 / fan_in (gain √2); last layer out_scale² / fan_in; biases 0; the policy's mean
    layer gain 0.01 and a state-independent log std at init_log_std."""
    net = nets.MLP(hidden=(512, 512), out_dim=512, out_scale=0.5)
    p = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 512)))["params"]
    for name, want in (("Dense_0", 2.0), ("Dense_1", 2.0), ("Dense_2", 0.25)):
        assert float(jnp.var(p[name]["kernel"])) * 512 == pytest.approx(want, rel=0.03), name
        assert float(jnp.max(jnp.abs(p[name]["bias"]))) == 0.0
    pol = nets.PolicyNet("gaussian", 256, hidden=(512,), init_log_std=-0.7)
    pp = pol.init(jax.random.PRNGKey(1), jnp.zeros((1, 64)))["params"]
    assert float(jnp.var(pp["MLP_0"]["Dense_1"]["kernel"])) * 512 == pytest.approx(1e-4, rel=0.03)
    np.testing.assert_allclose(pp["log_std"], -0.7, rtol=1e-6)


def test_state_dependent_log_std_is_offset_by_init_log_std():
    obs = jax.random.normal(jax.random.PRNGKey(2), (5, 4))
    a = nets.PolicyNet("gaussian", 2, hidden=(8,), state_dependent_std=True)
    b = nets.PolicyNet("gaussian", 2, hidden=(8,), state_dependent_std=True, init_log_std=-1.0)
    v = a.init(jax.random.PRNGKey(0), obs)
    oa, ob = a.apply(v, obs), b.apply(v, obs)
    np.testing.assert_array_equal(ob[:, :2], oa[:, :2])
    np.testing.assert_allclose(ob[:, 2:], oa[:, 2:] - 1.0, rtol=1e-6, atol=1e-6)
    assert float(jnp.max(jnp.abs(ob[:, 2:] + 1.0))) < 0.2


def test_act_deterministic_is_the_squashed_mean():
    cfg = ppo.PPOConfig(hidden=(8,))
    env = envs.make("pointmass", 2, episode_length=10)
    state = ppo.init(cfg, env, jax.random.PRNGKey(0))
    state = shift_policy_mean(state, [3.0, -2.0])
    obs = jax.random.normal(jax.random.PRNGKey(1), (5, 6))
    mean = ppo.policy_output(cfg, state, obs)[:, :2]
    assert float(jnp.max(jnp.abs(mean))) > 1.5
    np.testing.assert_allclose(ppo.act_deterministic(cfg, state, obs), jnp.tanh(mean), rtol=1e-6)


def test_warm_start_hands_over_the_normaliser_the_policy_was_cloned_with():
    """bc.steps > 0: the generator starts with BC's observation normaliser (set from the demonstrations), not the
    fresh identity one the cloned weights were never trained under."""
    env = envs.make("pointmass", num_envs=4, episode_length=10)
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    obs = 3.0 + 2.0 * jax.random.normal(k[0], (32, 6))
    demos = envs.Transition(obs=obs, action=jax.random.uniform(k[1], (32, 2), minval=-1), reward=jnp.zeros(32),
                            next_obs=obs, terminated=jnp.zeros(32), truncated=jnp.zeros(32))
    config = make_config("gail", "ppo", discriminator={"hidden": [8]}, generator_config={"num_steps": 4, "hidden": [8]},
                         num_iterations=1, eval_every=0, bc=dict(steps=5, batch_size=8))
    trainer = make_train(config, env, demos, expert_return=0.0, random_return=-1.0)
    norm = trainer.init(jax.random.PRNGKey(0)).generator.obs_norm
    assert float(norm.count) == 32
    np.testing.assert_allclose(norm.mean, np.asarray(obs).mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(norm.var, np.asarray(obs).var(0), rtol=1e-4, atol=1e-5)


# --- PPO's loss terms written out by hand (a mutation audit found them pinned only by end-to-end learning) -----------

def _loss_batch(cfg, seed=0):
    _, state, ro = _small_rollout(cfg, seed)
    return state, _flat_batch(cfg, ro)


def test_value_loss_is_half_the_mean_squared_error_to_the_gae_target():
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(8,), policy_head="gaussian")
    state, batch = _loss_batch(cfg)
    _, aux = ppo._loss(cfg, state, state.params, batch, jax.random.PRNGKey(5))
    v = np.asarray(ppo.value(cfg, state, batch["obs"]), np.float64)
    want = 0.5 * np.mean((v - np.asarray(batch["target"], np.float64)) ** 2)
    assert want > 1e-3
    assert float(aux["value_loss"]) == pytest.approx(want, rel=1e-5)


def test_clipped_surrogate_kl_and_clip_fraction_at_known_ratios():
    """Stored log-probs shifted so that the ratios are exactly 0.5, 0.95, 1.05, 2 (mean ≠ 1, so the KL estimator
    differs from mean(−log ρ)) with advantages ±1 (not normalised): the surrogate is −mean(min(ρA, clip(ρ, 1 ± ε)A))
    with ε = 0.1 (not the default 0.2), the KL estimate mean((ρ − 1) − log ρ), the clip fraction mean(|ρ − 1| > ε)."""
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(8,), policy_head="gaussian",
                        clip_eps=0.1, normalize_advantages=False)
    state, batch = _loss_batch(cfg)
    n = batch["obs"].shape[0]
    rho = np.resize(np.array([0.5, 0.95, 1.05, 2.0, 0.5, 0.95, 1.05, 2.0]), n)
    adv = np.resize(np.array([1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]), n)
    logp = ppo.raw_log_prob(cfg, state, batch["obs"], batch["raw_action"])
    batch = {**batch, "log_prob": logp - jnp.log(jnp.asarray(rho, jnp.float32)),
             "advantage": jnp.asarray(adv, jnp.float32)}
    _, aux = ppo._loss(cfg, state, state.params, batch, jax.random.PRNGKey(5))
    clipped = np.clip(rho, 0.9, 1.1)
    assert float(aux["policy_loss"]) == pytest.approx(-np.mean(np.minimum(rho * adv, clipped * adv)), rel=1e-4)
    assert float(aux["approx_kl"]) == pytest.approx(np.mean(rho - 1.0 - np.log(rho)), rel=1e-4)
    assert float(aux["clip_fraction"]) == pytest.approx(np.mean(np.abs(rho - 1.0) > 0.1))


def test_advantages_are_standardised_before_the_surrogate():
    """At the first step (ρ = 1) the surrogate is −mean(Â): 0 for standardised advantages, −mean(A) without; and
    standardising makes the loss invariant to an affine map of the advantages."""
    cfg = ppo.PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(8,), policy_head="gaussian")
    state, batch = _loss_batch(cfg)
    key = jax.random.PRNGKey(5)
    adv = batch["advantage"]
    assert abs(float(jnp.mean(adv))) > 1e-2
    _, aux = ppo._loss(cfg, state, state.params, batch, key)
    assert abs(float(aux["policy_loss"])) < 1e-5
    grad = lambda c, b: jax.grad(lambda p: ppo._loss(c, state, p, b, key)[0])(state.params)["actor"]  # noqa: E731
    g, g_affine = grad(cfg, batch), grad(cfg, {**batch, "advantage": 3.0 * adv + 5.0})
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6), g, g_affine)
    raw = cfg.replace(normalize_advantages=False)
    _, aux_raw = ppo._loss(raw, state, state.params, batch, key)
    assert float(aux_raw["policy_loss"]) == pytest.approx(-float(jnp.mean(adv)), rel=1e-4)
