"""The composed adversarial training step on pointmass: GAIL and AIRL learn to imitate a scripted expert,
``vmap(train)`` equals separate runs, ``run`` does not recompile, progress callbacks, validation.

Expert: the scripted controller ``jaxirl.envs.scripted_action`` (no expert training in the test), 32
demonstration episodes of 50 steps. Normalised score ``(R − R_random) / (R_expert − R_random)`` of the
deterministic policy on the TRUE reward; a random policy scores 0, the expert 1.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import envs
from jaxirl.data import collect_demos
from jaxirl.rl import ppo
from jaxirl.rl.evaluate import evaluate as evaluate_policy
from jaxirl.rl.soft_vi import SoftVIConfig
from jaxirl.train import make_train
from jaxirl.train_config import TrainConfig, make_config

EPISODE, NUM_ENVS = 50, 16
PPO = dict(
    num_steps=32, num_minibatches=4, update_epochs=4, hidden=(64, 64), learning_rate=1e-3, discount=0.95,
)
DISC = dict(learning_rate=1e-3, hidden=(64, 64), num_steps=10, expert_batch_size=256, policy_batch_size=256)


@pytest.fixture(scope="module")
def setup():
    env = envs.make("pointmass", NUM_ENVS, episode_length=EPISODE)
    demos, returns = collect_demos(env, lambda obs, key: envs.scripted_action(obs), jax.random.PRNGKey(1), 32)
    return env, demos, float(returns.mean())


@pytest.mark.slow
def test_gail_learns_vmap_equals_separate_runs_and_run_does_not_recompile(setup):
    env, demos, expert_return = setup
    n = 150
    config = make_config("gail", "ppo", discriminator=DISC, generator_config=PPO, num_iterations=n, eval_every=10)
    calls = []
    trainer = make_train(config, env, demos, expert_return=expert_return,
                         progress_fn=lambda it, m: calls.append((int(it), float(m["disc_loss"]))))
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    states, metrics = jax.jit(jax.vmap(trainer.train))(keys)
    jax.effects_barrier()
    scores = np.asarray(metrics["score_det"][:, 9::10])  # (seed, evaluation)
    print(f"\n[GAIL pointmass] deterministic scores per evaluation {np.round(scores, 3)}")
    final = scores[:, -4:].mean(1)  # mean of the last four evaluations (iterations 120..150)
    assert np.all(final >= 0.8), final
    assert np.all(np.asarray(metrics["eval_iteration"][:, -1]) == n)

    # the same seed, run separately in two chunks through the jitted `run`
    calls.clear()
    traces = []  # Python code in the iteration runs only while jax traces it, i.e. once per compilation
    iteration = trainer._iteration
    trainer._iteration = lambda s, d: (traces.append(1), iteration(s, d))[1]
    state = trainer.init(keys[0])
    state, m1 = trainer.run(state, n // 2)
    state, m2 = trainer.run(state, n // 2)
    assert len(traces) == 1  # the second chunk reused the compiled program (no retrace, no recompilation)
    jax.effects_barrier()
    assert sorted(c[0] for c in calls) == list(range(1, n + 1))  # progress callback once per iteration
    separate = jax.tree.map(lambda a, b: np.concatenate([a, b]), m1, m2)
    vmapped0 = jax.tree.map(lambda x: x[0], metrics)
    # Identical computations up to float reassociation in the batched program; adversarial training is
    # chaotic, so such ulp-level differences grow over ~100 iterations: compare the first 10 iterations
    # (every metric), then only that the separate run learned too.
    for k in ("disc_loss", "disc_acc_expert", "gen_policy_loss", "learned_reward_mean", "true_reward_mean"):
        np.testing.assert_allclose(separate[k][:10], vmapped0[k][:10], rtol=1e-3, atol=1e-4, err_msg=k)
    np.testing.assert_allclose(separate["return_det"][9], vmapped0["return_det"][9], rtol=1e-3)
    assert int(state.iteration) == n
    assert separate["score_det"][9::10][-4:].mean() >= 0.8

    # on-demand evaluation and the learned reward: the expert's actions score higher than random ones
    ev = trainer.evaluate(state)
    assert float(ev["score_det"]) >= 0.7
    reward = trainer.reward_fn(state)
    random_actions = jax.random.uniform(jax.random.PRNGKey(5), demos.action.shape, minval=-1, maxval=1)
    assert float(jnp.mean(reward(demos.obs, demos.action))) > float(jnp.mean(reward(demos.obs, random_actions)))


@pytest.mark.slow
def test_airl_learns_pointmass(setup):
    env, demos, expert_return = setup
    # R1 penalty on expert inputs (Mescheder et al. 2018) and a weaker entropy bonus f − 0.1 log π for PPO
    disc = dict(DISC, entropy_weight=0.1, penalty="r1", grad_penalty=1.0)
    gen = dict(PPO, policy_head="gaussian")
    config = make_config("airl", "ppo", discriminator=disc, generator_config=gen, num_iterations=150, eval_every=10)
    trainer = make_train(config, env, (demos, {"expert_return": expert_return}))  # (Transition, metadata) form
    assert trainer.expert_return == pytest.approx(expert_return)
    state, metrics = jax.jit(trainer.train)(jax.random.PRNGKey(0))
    scores = np.asarray(metrics["score_det"][9::10])  # one per evaluation
    print(f"\n[AIRL pointmass] deterministic scores per evaluation {np.round(scores, 3)}")
    assert scores[-4:].mean() >= 0.8  # mean of the last four evaluations (iterations 120..150)
    # the re-usable reward g(s) is state-only
    g = trainer.reward_fn(state)
    np.testing.assert_allclose(g(demos.obs[:10], demos.action[:10]), g(demos.obs[:10], -demos.action[:10]), rtol=1e-6)
    # reward transfer (Fu et al. 2018): a fresh PPO policy trained on g alone, never on the true reward, imitates
    from jaxirl.jobs.expert import make_chunk

    cfg = ppo.PPOConfig(**PPO)
    chunk = jax.jit(make_chunk(cfg, env, reward_fn=lambda tr, discount: g(tr.obs, tr.action, tr.next_obs)))
    k_init, k_env, k_loop, k_eval = jax.random.split(jax.random.PRNGKey(7), 4)
    (policy, _), m = chunk((ppo.init(cfg, env, k_init), env.reset(k_env)), jax.random.split(k_loop, 200))
    assert not np.allclose(m["reward_mean"], m["true_reward_mean"])  # it saw the learned reward, not the true one
    ret = evaluate_policy(env, lambda o, k: ppo.act_deterministic(cfg, policy, o), k_eval, EPISODE)["mean_return"]
    rand = float(state.random_return)
    transfer = (float(ret) - rand) / (expert_return - rand)
    print(f"[AIRL pointmass] PPO from scratch on the learned g: score {transfer:.3f}")
    assert transfer >= 0.6  # measured 0.72 (the AIRL run's own policy: ~0.8; a random policy: 0)


def test_given_random_return_is_the_score_zero(setup):
    """``random_return`` given: init keeps it (no random-policy rollout) and scores are normalised by it."""
    env, demos, expert_return = setup
    config = make_config("gail", "ppo", discriminator=DISC, generator_config=PPO, num_iterations=2)
    trainer = make_train(config, env, demos, expert_return=expert_return, random_return=-60.0)
    state = trainer.init(jax.random.PRNGKey(0))
    assert float(state.random_return) == -60.0
    key = jax.random.PRNGKey(5)
    ev = trainer.evaluate(state, key)
    assert float(ev["score_det"]) == pytest.approx((float(ev["return_det"]) + 60.0) / (expert_return + 60.0), rel=1e-5)
    # the mode and sampled-policy evaluations (one vmapped loop) equal two separate episode loops
    gen, k_det, k_sto = trainer.generator, *jax.random.split(key)
    det = evaluate_policy(env, lambda o, k: gen.act_deterministic(state.generator, o), k_det, EPISODE)
    sto = evaluate_policy(env, lambda o, k: gen.act(state.generator, o, k)[0], k_sto, EPISODE)
    assert float(ev["return_det"]) == pytest.approx(float(det["mean_return"]), rel=1e-5)
    assert float(ev["return_stoch"]) == pytest.approx(float(sto["mean_return"]), rel=1e-5)
    assert float(ev["return_det"]) != float(ev["return_stoch"])
    measured = make_train(config, env, demos, expert_return=expert_return).init(jax.random.PRNGKey(0))
    assert float(measured.random_return) != -60.0 and np.isfinite(float(measured.random_return))
    # by default taken from the demonstrations' metadata (as expert_return is); an explicit value wins
    meta = {"expert_return": expert_return, "random_return": -55.0}
    assert make_train(config, env, (demos, meta)).random_return == -55.0
    assert make_train(config, env, (demos, meta), random_return=-60.0).random_return == -60.0
    # GAIL's reward_fn gives by default the form the generator was trained with (as jaxirl.load_reward does)
    from jaxirl import reward as reward_lib

    obs, act = demos.obs[:8], demos.action[:8]
    for reward_type in ("gail", "log_d", "logit"):
        typed = make_train(config.replace(discriminator=config.discriminator.replace(reward_type=reward_type)), env,
                           demos, expert_return=expert_return, random_return=-60.0)
        want = reward_lib.reward_fn(typed.model, state.reward, reward_type)(obs, act)
        np.testing.assert_array_equal(np.asarray(typed.reward_fn(state)(obs, act)), np.asarray(want), err_msg=reward_type)
    assert not np.allclose(reward_lib.reward_fn(trainer.model, state.reward, "gail")(obs, act),
                           reward_lib.reward_fn(trainer.model, state.reward, "logit")(obs, act))


def test_validation_errors(setup):
    env, demos, _ = setup
    good = make_config("gail", "ppo", discriminator=DISC, generator_config=PPO, num_iterations=2)
    # collect_demos' (Transition, episode returns) is not (Transition, metadata)
    with pytest.raises(ValueError, match=r"got \(Transition, ndarray\) — collect_demos returns"):
        make_train(good, env, (demos, np.zeros(3)))
    with pytest.raises(ValueError, match="algorithm"):
        make_config("bc")
    with pytest.raises(ValueError, match="generator"):
        make_config("gail", "sac")
    with pytest.raises(ValueError, match="discriminator.lr"):
        make_config("gail", discriminator={"lr": 1e-3})
    with pytest.raises(ValueError, match="eval_every"):
        TrainConfig(eval_every=-1).validate()
    with pytest.raises(ValueError, match="reward_type"):
        make_config("airl", discriminator={"reward_type": "gail"})
    with pytest.raises(ValueError, match="demos.obs"):
        make_train(good, env, demos.replace(obs=demos.obs[:, :3]))
    bad = np.array(demos.reward)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="demos.reward"):
        make_train(good, env, demos.replace(reward=bad))
    with pytest.raises(ValueError, match="demos.action"):
        make_train(good, env, demos.replace(action=demos.action[:, :1]))
    with pytest.raises(ValueError, match="generator"):  # soft VI needs a tabular env
        make_train(make_config("airl", "soft_vi", num_iterations=2), env, demos)
    with pytest.raises(ValueError, match="num_minibatches"):
        make_train(make_config("gail", generator_config=dict(PPO, num_minibatches=7)), env, demos)
    # an entropy weight that nothing would read is refused: GAIL has no log π term; soft VI's is its temperature
    with pytest.raises(ValueError, match="discriminator.entropy_weight: only AIRL"):
        make_config("gail", discriminator={"entropy_weight": 0.5})
    with pytest.raises(ValueError, match="discriminator.entropy_weight: .*set temperature instead"):
        make_config("airl", "soft_vi", discriminator={"entropy_weight": np.array([1.0, 0.5])})
    with pytest.raises(ValueError, match="anneal_lr_updates: the learning rate would reach 0 after 5 of the run's 6"):
        make_config("gail", generator_config={"anneal_lr_updates": 5}, num_iterations=6)
    for ok in (make_config("airl", discriminator={"entropy_weight": 0.5}),
               make_config("airl", "soft_vi", generator_config={"temperature": 0.5})):
        assert ok.validate() is ok
    trainer = make_train(good, env, demos)
    with pytest.raises(ValueError, match="num_iterations"):
        trainer.run(None, 0)
    # expert return falls back to the demos' mean episode return: complete episodes only, and none is an error
    assert trainer.expert_return == pytest.approx(float(np.sum(demos.reward)) / 32, rel=1e-5)
    cut = jax.tree.map(lambda x: x[:75], demos)  # one whole 50-step episode and half of the next
    assert make_train(good, env, cut).expert_return == pytest.approx(float(np.sum(demos.reward[:50])), rel=1e-5)
    with pytest.raises(ValueError, match="expert_return: the demonstrations end no episode"):
        make_train(good, env, jax.tree.map(lambda x: x[:40], demos))
    for bad_random in (float("nan"), "low", True, trainer.expert_return):
        with pytest.raises(ValueError, match="random_return"):
            make_train(good, env, demos, random_return=bad_random)
    with pytest.raises(ValueError, match="random_return .from the demonstrations' metadata.: expected a finite"):
        make_train(good, env, (demos, {"random_return": float("nan")}))
    assert isinstance(good.generator, ppo.PPOConfig) and isinstance(SoftVIConfig(), SoftVIConfig)
    # settings nothing would act on: a penalty weight without a penalty, a held-out part of the warm start's data
    # (the run keeps no held-out score), an evaluation window in which no episode can end (NaN scores)
    with pytest.raises(ValueError, match="grad_penalty: 1.0 with penalty: none weights no penalty"):
        make_config("gail", discriminator={"grad_penalty": 1.0})
    for kind in ("r1", "wgan_gp"):
        make_config("gail", discriminator={"grad_penalty": 1.0, "penalty": kind})
    make_config("gail", discriminator={"grad_penalty": jnp.zeros(())})
    with pytest.raises(ValueError, match="bc.validation_fraction: a training run keeps no held-out score"):
        make_config("gail", bc={"steps": 10, "validation_fraction": 0.1})
    with pytest.raises(ValueError, match=f"eval_steps: expected 0 .* at least the evaluation env's episode_length = "
                                         f"{EPISODE} steps, got {EPISODE - 1}"):
        make_train(good.replace(eval_steps=EPISODE - 1), env, demos)
    assert make_train(good.replace(eval_steps=EPISODE), env, demos).eval_steps == EPISODE
    # in-memory demonstrations get the file's checks: 0/1 flags, not both on a step, finite as float32, float actions
    flags = np.array(demos.terminated)
    flags[EPISODE - 1] = 2.0
    with pytest.raises(ValueError, match=r"demos: 'terminated' must contain only 0 and 1, got values \[2.0\]"):
        make_train(good, env, demos.replace(terminated=flags))
    both = np.array(demos.terminated)
    both[EPISODE - 1] = 1.0  # that step is already truncated (the time limit)
    with pytest.raises(ValueError, match="demos: a transition has both 'terminated' and 'truncated' set"):
        make_train(good, env, demos.replace(terminated=both))
    huge = np.asarray(demos.obs, np.float64).copy()
    huge[0, 0] = 1e39  # finite in float64, inf in the float32 the trainer keeps
    with pytest.raises(ValueError, match=r"demos.obs: contains 1 NaN/inf value\(s\) \(as float32\)"):
        make_train(good, env, demos.replace(obs=huge))
    with pytest.raises(ValueError, match="demos.action: a continuous env needs float actions, got int"):
        make_train(good, env, demos.replace(action=np.zeros(demos.action.shape, np.int32)))
    boolean = make_train(good, env, demos.replace(truncated=np.asarray(demos.truncated) > 0,
                                                  obs=np.asarray(demos.obs, np.float64)))
    assert boolean.expert_return == pytest.approx(trainer.expert_return)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(boolean.demos))  # as the trainer's own samples
    for bad_expert in (float("nan"), "3", np.array([1.0, 2.0]), True):
        with pytest.raises(ValueError, match="expert_return: expected a finite number"):
            make_train(good, env, demos, expert_return=bad_expert)
    scalar = make_train(good, env, demos, expert_return=np.float32(-3.0), random_return=jnp.float32(-30.0))
    assert (scalar.expert_return, scalar.random_return) == (-3.0, -30.0)


def test_init_and_evaluate_take_keys_nothing_else_takes(setup, monkeypatch):
    """The BC warm start's key is neither the generator's (actor, critic) init keys nor another part of init's;
    ``Trainer.evaluate(state)`` without a key does not reuse the next iteration's rollout key. (Under JAX's
    partitionable threefry ``fold_in(k, i)`` equals ``split(k, n)[i]``: ``fold_in(k_gen, 1)`` was the critic's.)"""
    from jaxirl import bc as bc_lib

    env, demos, expert_return = setup
    seen = {}
    fit = bc_lib.fit

    def spy(config, ppo_config, state, obs, action, key):
        seen["bc"] = np.asarray(key)
        return fit(config, ppo_config, state, obs, action, key)

    monkeypatch.setattr(bc_lib, "fit", spy)
    config = make_config("gail", "ppo", discriminator=DISC, generator_config=PPO, num_iterations=1,
                         bc={"steps": 2})
    trainer = make_train(config, env, demos, expert_return=expert_return, random_return=0.0)
    key = jax.random.PRNGKey(3)
    state = trainer._init(key, trainer.demos)  # eagerly: the spy sees the concrete key
    used = list(jax.random.split(key, 5))
    k_gen = used[0]
    used += list(jax.random.split(k_gen, 2))  # PPO's actor and critic init keys
    used += list(jax.random.split(state.key, 6))  # the next iteration's keys
    assert all(not np.array_equal(seen["bc"], np.asarray(k)) for k in used)
    # evaluate's default key: the same result as fold_in(state.key, 6), not the next rollout's key
    default = trainer.evaluate(state)
    assert float(default["return_stoch"]) == float(
        trainer.evaluate(state, jax.random.fold_in(state.key, 6))["return_stoch"])
    roll = jax.random.split(state.key, 6)[1]
    assert not np.array_equal(np.asarray(jax.random.fold_in(state.key, 6)), np.asarray(roll))


@pytest.mark.parametrize("algorithm", ["airl", "gail"])
def test_discrete_demos_with_a_trailing_action_axis_train_as_flat_ones(algorithm):
    """Discrete demonstrations given as (M, 1) indices are accepted and train exactly like (M,) ones (before
    2026-11-28 AIRL's log π broadcast them to (B, B) — a silently wrong loss — and input normalisation failed)."""
    from jaxirl.envs import from_mdp
    from jaxirl.tabular import TabularMDP

    rng = np.random.default_rng(0)
    transition = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(4, 2))]
    mdp = TabularMDP(jnp.asarray(transition), jnp.full((4,), 0.25), 0.9)
    env = from_mdp(mdp, jnp.asarray(rng.normal(size=4).astype(np.float32)), 4, episode_length=8)
    demos, returns = collect_demos(env, lambda o, k: jax.random.randint(k, (o.shape[0],), 0, 2),
                                   jax.random.PRNGKey(1), 8)
    config = make_config(algorithm, "ppo", num_iterations=1, eval_every=0,
                         discriminator=dict(hidden=(8,), potential_hidden=(8,), expert_batch_size=16,
                                            policy_batch_size=16, normalize_inputs=True),
                         generator_config=dict(num_steps=8, num_minibatches=1, update_epochs=1, hidden=(8,)))
    out = []
    for d in (demos, demos.replace(action=demos.action[:, None])):
        trainer = make_train(config, env, d, expert_return=float(returns.mean()), random_return=float(returns.mean()) - 1)
        assert trainer.demos.action.shape == (demos.action.shape[0],)
        out.append(trainer.run(trainer.init(jax.random.PRNGKey(0)), 1)[1])
    for key in ("disc_loss", "disc_d_expert", "disc_d_policy"):
        np.testing.assert_array_equal(np.asarray(out[0][key]), np.asarray(out[1][key]), err_msg=key)


def _tiny_tabular():
    """A 5-state deterministic random MDP as a 4-env tabular env, and 20 one-hot demonstration transitions."""
    from jaxirl.envs import Transition, from_mdp
    from jaxirl.tabular import TabularMDP

    S, A, M = 5, 2, 20
    rng = np.random.default_rng(0)
    mdp = TabularMDP(jnp.asarray(np.eye(S, dtype=np.float32)[rng.integers(0, S, size=(S, A))]), jnp.full(S, 1.0 / S), 0.9)
    env = from_mdp(mdp, jnp.asarray(rng.normal(size=S), jnp.float32), 4, episode_length=5)
    states = jnp.eye(S)[np.arange(M) % S]
    return env, Transition(states, jnp.zeros(M, jnp.int32), jnp.zeros(M), states, jnp.zeros(M),
                           jnp.asarray(np.arange(M) % 5 == 4, jnp.float32))


def test_vmap_over_a_traced_hyperparameter_equals_separate_runs():
    """Numeric hyperparameters are traced: a trainer built inside ``jax.vmap`` sweeps them in one program."""
    env, demos = _tiny_tabular()

    def run(lr, key):
        config = make_config("airl", "soft_vi", num_iterations=3, eval_every=0, generator_config=dict(num_steps=5),
                             discriminator=dict(learning_rate=lr, hidden=(8,), expert_batch_size=8, policy_batch_size=8))
        return make_train(config, env, demos, expert_return=1.0).train(key)[1]["disc_loss"]

    lrs = jnp.array([1e-3, 1e-1])
    swept = jax.jit(jax.vmap(run, in_axes=(0, None)))(lrs, jax.random.PRNGKey(0))
    one = jax.jit(run)  # unbatched program, lr still traced: both separate runs share one compilation
    separate = np.stack([one(lr, jax.random.PRNGKey(0)) for lr in lrs])
    np.testing.assert_allclose(swept, separate, rtol=1e-4)
    assert not np.allclose(swept[0, 1:], swept[1, 1:])  # the learning rates really differ


def test_train_takes_the_demonstrations_as_an_argument():
    """``jax.jit(trainer.train)(key, trainer.demos)`` keeps the demonstrations an argument of the program (closed over,
    they are constants of it; the same code computes with either); other shapes are refused."""
    env, demos = _tiny_tabular()
    config = make_config("airl", "soft_vi", num_iterations=3, eval_every=0, generator_config=dict(num_steps=5),
                         discriminator=dict(hidden=(8,), expert_batch_size=8, policy_batch_size=8))
    trainer = make_train(config, env, demos, expert_return=1.0)
    key = jax.random.PRNGKey(0)
    closed = jax.jit(trainer.train).lower(key).as_text()
    passed = jax.jit(trainer.train).lower(key, trainer.demos).as_text()
    assert passed.count("%arg") > closed.count("%arg")  # the demonstrations' arrays are parameters
    with pytest.raises(ValueError, match="demos: expected the trainer's demonstrations' shapes"):
        trainer.train(key, jax.tree.map(lambda x: x[:10], trainer.demos))


@pytest.mark.parametrize("build, message", [
    (lambda x: make_config("gail", "ppo", discriminator=dict(entropy_weight=x)),
     "discriminator.entropy_weight: swept (traced), but gail does not use it"),
    (lambda x: make_config("airl", "soft_vi", discriminator=dict(entropy_weight=x)),
     "discriminator.entropy_weight: swept (traced), but AIRL with the soft_vi generator does not use it"),
    (lambda x: make_config("gail", "ppo", discriminator=dict(penalty="none", grad_penalty=x)),
     "grad_penalty: swept (traced), but penalty: none weights no penalty"),
    (lambda x: make_config("gail", "ppo", generator_config=dict(anneal_lr_updates=x)),
     "ppo.anneal_lr_updates: a static setting (fixed when the program is compiled: a count, size, switch or "
     "constant of it) cannot be traced or swept"),
    (lambda x: make_config("gail", "ppo", generator_config=dict(num_steps=x)),
     "ppo.num_steps: a static setting"),  # was "num_steps: expected a positive int, got VmapTracer..."
    (lambda x: make_config("gail", "ppo", discriminator=dict(num_steps=x)), "discriminator.num_steps: a static setting"),
])
def test_a_swept_value_that_nothing_reads_is_refused(build, message):
    """As plain numbers these are refused ("nothing would act on it"); swept inside ``jax.vmap`` the check was
    skipped, and every lane ran the same program (or, for a count, JAX's TracerBoolConversionError); a static
    setting (a count, a size) swept is refused as such."""
    with pytest.raises(ValueError, match=re.escape(message)):
        jax.vmap(build)(jnp.array([2.0, 3.0]))


def test_a_swept_bc_entropy_bonus_with_a_fixed_std_is_refused():
    from jaxirl import bc
    env = envs.make("pointmass", 2, episode_length=5)
    cfg = ppo.PPOConfig(hidden=(8,))
    state = ppo.init(cfg, env, jax.random.key(0))
    obs, act = jnp.zeros((8, env.observation_size)), jnp.zeros((8, env.action_size))
    fit = lambda c: bc.fit(bc.BCConfig(steps=2, batch_size=4, fit_std=False, ent_coef=c), cfg, state, obs, act,  # noqa: E731
                           jax.random.key(1))
    with pytest.raises(ValueError, match=r"bc.ent_coef: swept \(traced\), but it has no effect"):
        jax.vmap(fit)(jnp.array([0.0, 1.0]))


def test_stagger_resets_reaches_the_training_envs():
    """``TrainConfig.stagger_resets``: validated, and ``init`` starts the training envs' time limits at spread-out
    steps (``VecEnv.reset(key, stagger=True)``); the default leaves them all at 0."""
    from jaxirl.envs import Transition, from_mdp
    from jaxirl.tabular import TabularMDP

    S, M, N, L = 4, 8, 32, 6
    mdp = TabularMDP(jnp.asarray(np.eye(S, dtype=np.float32)[np.array([[1, 2], [2, 3], [3, 0], [0, 1]])]),
                     jnp.full(S, 1.0 / S), 0.9)
    env = from_mdp(mdp, jnp.arange(S, dtype=jnp.float32), N, episode_length=L)
    states = jnp.eye(S)[np.arange(M) % S]
    demos = Transition(states, jnp.zeros(M, jnp.int32), jnp.zeros(M), states, jnp.zeros(M), jnp.zeros(M))
    with pytest.raises(ValueError, match="stagger_resets: expected true or false"):
        make_config("gail", "soft_vi", stagger_resets=1)
    lengths = {}
    for stagger in (False, True):
        config = make_config("gail", "soft_vi", num_iterations=2, eval_every=0, stagger_resets=stagger,
                             generator_config=dict(num_steps=L), discriminator=dict(hidden=(8,), expert_batch_size=8,
                                                                                   policy_batch_size=8))
        trainer = make_train(config, env, demos, expert_return=1.0, random_return=0.0)
        state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
        lengths[stagger] = np.asarray(state.env_state.episode_length)
        assert np.all(np.asarray(state.env_state.completed) == (-1 if stagger else 0))
    np.testing.assert_array_equal(lengths[False], 0)
    assert lengths[True].min() >= 0 and lengths[True].max() < L and len(set(lengths[True].tolist())) > 1

    class PlainReset:  # an env of the user's own whose reset takes only a key: a clear error before compiling
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def reset(self, key):
            return self.inner.reset(key)

    with pytest.raises(ValueError, match="stagger_resets: the env's reset\\(key\\) takes no `stagger` argument"):
        make_train(config, PlainReset(env), demos, expert_return=1.0, random_return=0.0)


@pytest.mark.parametrize("algorithm", ["gail", "airl"])
def test_save_reward_from_python_is_what_load_reward_reads(setup, tmp_path, algorithm):
    """``jaxirl.save_reward(dir, trainer, state)`` writes the two files of a run folder's reward, so
    ``jaxirl.load_reward(dir)`` equals ``trainer.reward_fn(state)`` (GAIL: its configured reward form; AIRL: g);
    a vmapped state is refused."""
    import jaxirl

    env, demos, expert_return = setup
    config = make_config(algorithm, "ppo", num_iterations=1,
                         discriminator=dict(DISC, hidden=(8,), potential_hidden=(8,), reward_type="log_d")
                         if algorithm == "gail" else dict(DISC, hidden=(8,), potential_hidden=(8,)),
                         generator_config=dict(PPO, hidden=(8,)))
    trainer = make_train(config, env, demos, expert_return=expert_return, random_return=-60.0)
    state = trainer.init(jax.random.PRNGKey(0))
    # a trained-looking reward: perturb the initial parameters
    state = state.replace(reward=state.reward.replace(net=jax.tree.map(lambda x: x + 0.1, state.reward.net)))
    assert jaxirl.save_reward(str(tmp_path / "r"), trainer, state) == str(tmp_path / "r")
    loaded = jaxirl.load_reward(str(tmp_path / "r"))
    obs, act, nxt = demos.obs[:8], demos.action[:8], demos.next_obs[:8]
    np.testing.assert_allclose(np.asarray(loaded(obs, act, nxt)), np.asarray(trainer.reward_fn(state)(obs, act, nxt)),
                               rtol=1e-6)
    # the same reward, pure in its parameters: its gradient in them exists and a vmap over two parameter sets works
    from jaxirl import reward as R

    model, params, which = jaxirl.load_reward_model(str(tmp_path / "r"))
    assert which == ("log_d" if algorithm == "gail" else None)

    def r_of(p):
        return R.learned_reward(model, p, R.encode(model, obs, act, nxt), which)

    np.testing.assert_allclose(np.asarray(r_of(params)), np.asarray(loaded(obs, act, nxt)), rtol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(jax.grad(lambda p: r_of(p).sum())(params)))
    both = jax.vmap(r_of)(jax.tree.map(lambda x: jnp.stack([x, 2 * x]), params))
    np.testing.assert_allclose(np.asarray(both[0]), np.asarray(r_of(params)), rtol=1e-6)
    two = jax.tree.map(lambda x: jnp.stack([x, x]), state)
    with pytest.raises(ValueError, match="one run's TrainState.*one lane"):
        jaxirl.save_reward(str(tmp_path / "two"), trainer, two)


def test_train_called_again_does_not_retrace(setup):
    """``trainer.train(key)`` is jitted once per trainer: a second call with another key reuses the program (the
    README's ``jax.jit(trainer.train)(key)`` in a loop compiled anew every time)."""
    env, demos, expert_return = setup
    config = make_config("gail", "ppo", num_iterations=1, discriminator=dict(DISC, hidden=(8,)),
                         generator_config=dict(PPO, hidden=(8,)))
    trainer = make_train(config, env, demos, expert_return=expert_return, random_return=-60.0)
    traces, init = [], trainer._init
    trainer._init = lambda *a: (traces.append(1), init(*a))[1]
    s1, _ = trainer.train(jax.random.PRNGKey(0))
    s2, _ = trainer.train(jax.random.PRNGKey(1))
    assert len(traces) == 1
    assert not np.array_equal(jax.tree.leaves(s1.reward.net)[0], jax.tree.leaves(s2.reward.net)[0])  # other keys


def test_make_config_checks_the_generator_values_before_any_env():
    """``make_config`` validates the generator's own values (it said "Build and validate" but took ``hidden: 64``
    until ``make_train``), naming the section."""
    with pytest.raises(ValueError, match=r"ppo\.hidden: expected a tuple of positive ints, got 64"):
        make_config("gail", "ppo", generator_config={"hidden": 64})
    with pytest.raises(ValueError, match=r"ppo\.learning_rate: expected a value > 0"):
        make_config("gail", "ppo", generator_config={"learning_rate": -1.0})
    with pytest.raises(ValueError, match=r"soft_vi\.temperature: expected a finite number > 0"):
        make_config("airl", "soft_vi", generator_config={"temperature": 0.0})
    with pytest.raises(ValueError, match=r"generator: expected one of .* \(its settings go in generator_config\)"):
        make_config("gail", {"num_steps": 8})  # the settings where the generator's name goes


def test_save_reward_of_a_soft_vi_trainer():
    """``save_reward`` also for the exact soft-VI generator (its discount is the MDP's; the config has none)."""
    import jaxirl

    env, demos = _tiny_tabular()
    config = make_config("airl", "soft_vi", num_iterations=1, eval_every=0, generator_config=dict(num_steps=5),
                         discriminator=dict(hidden=(8,), potential_hidden=(8,), expert_batch_size=8, policy_batch_size=8))
    trainer = make_train(config, env, demos, expert_return=1.0)
    state = trainer.init(jax.random.PRNGKey(0))
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        jaxirl.save_reward(d, trainer, state)
        loaded = jaxirl.load_reward(d)
        obs, act = demos.obs[:6], demos.action[:6]
        np.testing.assert_allclose(np.asarray(loaded(obs, act)), np.asarray(trainer.reward_fn(state)(obs, act)),
                                   rtol=1e-6)


def test_entropy_weight_annealed_from_one(setup):
    """``discriminator.entropy_anneal_iterations`` N: AIRL's β is 1 at iteration 0 and ``entropy_weight`` from
    iteration N on, linearly between; the training iteration reads it at the state's iteration (an annealed run's
    iteration equals a β = 1 run's at 0 and a plain β run's at N); refused where nothing reads it."""
    env, demos, expert_return = setup
    small = dict(discriminator=dict(DISC, hidden=(8,), potential_hidden=(8,)), generator_config=dict(PPO, hidden=(8,)),
                 num_iterations=20, eval_every=0)

    def trainer(beta, n):
        disc = dict(small["discriminator"], entropy_weight=beta, entropy_anneal_iterations=n)
        config = make_config("airl", "ppo", **dict(small, discriminator=disc))
        return make_train(config, env, demos, expert_return=expert_return, random_return=-60.0)

    annealed, one, plain = trainer(0.1, 10), trainer(1.0, 0), trainer(0.1, 0)
    at = [float(annealed.entropy_weight_at(i)) for i in (0, 5, 10, 15)]
    np.testing.assert_allclose(at, [1.0, 0.55, 0.1, 0.1], rtol=1e-6)
    s0 = annealed.init(jax.random.PRNGKey(0))

    def after_one(t, iteration):
        s, m = t.run(s0.replace(iteration=jnp.asarray(iteration, s0.iteration.dtype)), 1)
        return np.concatenate([np.ravel(x) for x in jax.tree.leaves(s.generator.params)]), m

    a0, b0 = after_one(annealed, 0)[0], after_one(one, 0)[0]
    a10, c10 = after_one(annealed, 10)[0], after_one(plain, 10)[0]
    np.testing.assert_allclose(a0, b0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a10, c10, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a0, after_one(plain, 0)[0], rtol=1e-5, atol=1e-6)  # β matters at iteration 0
    for algorithm, gen, extra, message in (
        ("gail", "ppo", {}, "nothing reads it here"),
        ("airl", "soft_vi", {}, "nothing reads it here"),
        ("airl", "ppo", {"entropy_weight": 1.0}, "nothing to anneal"),
        ("airl", "ppo", {"entropy_anneal_iterations": -1}, "expected an int >= 0"),
    ):
        disc = {"entropy_anneal_iterations": 10, **extra}
        with pytest.raises(ValueError, match=message):
            make_config(algorithm, gen, discriminator=disc)


# --- from a mutation audit -------------------------------------------------------------------------------------------

def test_num_iterations_must_be_positive():
    with pytest.raises(ValueError, match="num_iterations: expected an int >= 1, got 0"):
        make_config("gail", num_iterations=0)
