"""``VecEnv(reset_pool=M)``: ended episodes restart from reset states drawn ahead, once per rollout, instead of a
batched reset in every step where an env ends. Which state each ended env takes, the count, the refill, that fresh
starts are independent draws while the pool lasts, that the package's rollouts refill it, that collection and
evaluation step the env without it, the config field, and training / resuming with it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import envs, io
from jaxirl.data import collect_demos
from jaxirl.rl import ppo
from jaxirl.rl.evaluate import evaluate


def _scan(env, state, actions):
    return jax.jit(lambda s: jax.lax.scan(lambda s, a: env.step(s, a), s, actions))(state)


def _stepwise(env, state, actions):
    states, trs = [], []
    step = jax.jit(env.step)
    for a in actions:
        state, tr = step(state, a)
        states.append(state)
        trs.append(tr)
    return states, trs


def test_each_ended_env_takes_the_next_unused_pool_state_in_env_order_and_the_pool_wraps():
    """Staggered time limits of 4 over 8 envs: a few envs end in each step. The k-th env (in index order) to end
    takes pool state ``(drawn + k) mod M``; ``pool_drawn`` counts the states handed out; the transition (true
    next obs, flags, rewards) and the bookkeeping are those of the env without a pool, which differs only in
    the states the ended envs restart from."""
    N, L, M, T = 8, 4, 5, 9
    env = envs.make("pointmass", N, episode_length=L, reset_pool=M)
    plain = env.with_reset_pool(0)
    assert env.reset_pool == M and plain.reset_pool == 0 and "reset_pool=5" in repr(env)
    key = jax.random.PRNGKey(2)
    state, ref = env.reset(key, stagger=True), plain.reset(key, stagger=True)
    np.testing.assert_array_equal(state.obs, ref.obs)  # the same first episodes
    np.testing.assert_array_equal(state.episode_length, ref.episode_length)
    assert ref.pool is None and ref.pool_drawn is None and int(state.pool_drawn) == 0
    pool_obs = np.asarray(state.pool.obs)
    assert pool_obs.shape == (M, 6) and len(np.unique(pool_obs[:, :2], axis=0)) == M
    actions = jax.random.uniform(jax.random.PRNGKey(3), (T, N, 2), minval=-1.0, maxval=1.0)
    states, trs = _stepwise(env, state, actions)
    drawn, ends_per_step = 0, []
    for t in range(T):
        done = np.asarray(trs[t].truncated + trs[t].terminated) > 0
        ends_per_step.append(int(done.sum()))
        take = (drawn + np.cumsum(done) - 1) % M
        np.testing.assert_array_equal(np.asarray(states[t].obs)[done], pool_obs[take[done]])
        np.testing.assert_array_equal(np.asarray(states[t].episode_length)[done], 0)
        drawn += int(done.sum())
        assert int(states[t].pool_drawn) == drawn
        np.testing.assert_array_equal(np.asarray(states[t].pool.obs), pool_obs)  # only refill changes the pool
    assert drawn > M and max(ends_per_step) >= 2  # several ends in one step, and the pool wrapped
    # up to each env's first end the two envs are the same: same actions, same states (to float rounding: the two
    # programs differ, and some XLA versions fuse their arithmetic differently)
    first_end = [next(t for t in range(T) if trs[t].truncated[i] > 0) for i in range(N)]
    ref_states, ref_trs = _stepwise(plain, ref, actions)
    for i in range(N):
        for t in range(first_end[i] + 1):
            for field in ("obs", "next_obs", "reward", "truncated", "terminated"):
                np.testing.assert_allclose(getattr(trs[t], field)[i], getattr(ref_trs[t], field)[i], rtol=1e-6,
                                           atol=1e-6, err_msg=field)
            np.testing.assert_allclose(states[t].last_return[i], ref_states[t].last_return[i], rtol=1e-6, atol=1e-6)
    # the whole scan equals the step-by-step run
    final, tr = _scan(env, state, actions)
    np.testing.assert_allclose(tr.next_obs, np.stack([t.next_obs for t in trs]), rtol=1e-5, atol=1e-6)
    assert int(final.pool_drawn) == drawn


def test_refill_draws_a_new_pool_from_the_states_key_and_restarts_the_count():
    N, M = 4, 6
    env = envs.make("pointmass", N, episode_length=3, reset_pool=M)
    state = env.reset(jax.random.PRNGKey(0))
    state, _ = _scan(env, state, jnp.zeros((7, N, 2)))
    assert int(state.pool_drawn) == 8  # two time limits of all four envs
    again = env.refill(state)
    assert int(again.pool_drawn) == 0
    # the pool is M independent resets from a key split off the state's (which moves on)
    key, sub = jax.random.split(state.key)
    np.testing.assert_array_equal(again.key, key)
    want = jax.vmap(env.base.reset)(jax.random.split(sub, M))
    np.testing.assert_array_equal(again.pool.obs, want.obs)
    assert not np.allclose(again.pool.obs, state.pool.obs)
    # without a pool refill is the identity, and the state has no pool fields
    plain = env.with_reset_pool(0)
    s0 = plain.reset(jax.random.PRNGKey(0))
    assert plain.refill(s0) is s0
    assert len(jax.tree.leaves(s0)) < len(jax.tree.leaves(state))


def test_starts_are_distinct_draws_while_the_pool_lasts_and_ppo_rollouts_refill_it():
    """PPO's rollout refills the pool first: 16 envs with a time limit of 3 end twice in a 6-step rollout, 32
    draws. With a pool of 32 every episode of three rollouts starts from its own state (96 distinct starting
    positions); with a pool of 16 each rollout's second ends reuse its first ends' states, in the same order."""
    N, L, T = 16, 3, 6
    config = ppo.PPOConfig(num_steps=T, num_minibatches=1, update_epochs=1, hidden=(8,))

    def starts(m):
        env = envs.make("pointmass", N, episode_length=L, reset_pool=m)
        state = ppo.init(config, env, jax.random.PRNGKey(0))
        env_state = env.reset(jax.random.PRNGKey(1))
        roll = jax.jit(lambda s, k: ppo.rollout(config, state, env, s, k))
        got = []
        for k in range(3):
            env_state, ro = roll(env_state, jax.random.PRNGKey(10 + k))
            assert int(env_state.pool_drawn) == 2 * N  # counted from this rollout's refill
            # the observations after the first ends (step L of the rollout) and after the second (its end)
            got.append((np.asarray(ro.transition.obs)[L], np.asarray(env_state.obs)))
        return got

    full = starts(2 * N)
    positions = np.concatenate([np.concatenate([a, b])[:, :2] for a, b in full])
    assert positions.shape == (6 * N, 2) and len(np.unique(positions, axis=0)) == 6 * N
    half = starts(N)
    for first, second in half:
        np.testing.assert_array_equal(first, second)  # the 17th to 32nd draws are the 1st to 16th again
    assert len(np.unique(np.concatenate([a for a, _ in half])[:, :2], axis=0)) == 3 * N  # refilled each rollout


def test_collection_and_evaluation_step_the_env_without_its_pool():
    """collect_demos runs several episodes per env in one scan, and evaluate() counts one or several per env and
    averages the reward over every step of its window: both step the env without its pool, so every result equals
    the plain env's bit for bit (a window of 13 steps with a time limit of 5: steps after the counted episodes
    enter ``mean_reward``, so a pool — even one of a single state — would change it)."""
    env = envs.make("pointmass", 4, episode_length=5, reset_pool=3)
    plain = env.with_reset_pool(0)
    act = jax.tree_util.Partial(lambda obs, key: envs.scripted_action(obs))
    a, ra = collect_demos(env, act, jax.random.PRNGKey(0), 10)
    b, rb = collect_demos(plain, act, jax.random.PRNGKey(0), 10)
    np.testing.assert_array_equal(ra, rb)
    np.testing.assert_array_equal(a.obs, b.obs)
    for steps in (5, 13, 15):
        x = evaluate(env, act, jax.random.PRNGKey(4), num_steps=steps)
        y = evaluate(plain, act, jax.random.PRNGKey(4), num_steps=steps)
        assert float(x["num_episodes"]) == 4 * (steps // 5)
        assert x.keys() == y.keys() and "mean_reward" in x
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)
    for pool in (1, 3):  # the guard: the same window stepped with a pool does see other rewards
        pooled = env.with_reset_pool(pool)
        state, tr = _scan(pooled, pooled.reset(jax.random.PRNGKey(4)), jnp.zeros((13, 4, 2)))
        _, ref = _scan(plain, plain.reset(jax.random.PRNGKey(4)), jnp.zeros((13, 4, 2)))
        assert not np.array_equal(tr.reward[5:], ref.reward[5:])


def test_the_soft_vi_rollout_refills_the_pool_of_a_tabular_env():
    """The exact generator's rollout refills too: a 4-state chain MDP with a time limit of 2, 3 envs, 4-step
    rollouts — every env ends twice in each, 6 draws counted from that rollout's refill (12 without it)."""
    from jaxirl.rl import soft_vi
    from jaxirl.tabular.mdp import TabularMDP

    S, A = 4, 2
    T = np.zeros((S, A, S), np.float32)
    for s in range(S):
        T[s, 0, s], T[s, 1, (s + 1) % S] = 1.0, 1.0
    mdp = TabularMDP(transition=jnp.asarray(T), initial=jnp.full(S, 0.25), discount=0.9)
    env = envs.from_mdp(mdp, np.arange(S, dtype=np.float32), num_envs=3, episode_length=2).with_reset_pool(4)
    assert type(env) is envs.TabularVecEnv and env.mdp is mdp
    config = soft_vi.SoftVIConfig(num_steps=4)
    state = soft_vi.init(config, env, jax.random.PRNGKey(0))
    env_state = env.reset(jax.random.PRNGKey(1))
    for k in range(2):
        env_state, ro = soft_vi.rollout(config, state, env, env_state, jax.random.PRNGKey(k))
        assert int(env_state.pool_drawn) == 6, k
        assert float(ro.transition.truncated.sum()) == 6


def test_a_checkpoint_written_before_the_pool_fields_existed_loads(tmp_path):
    """Files saved before ``EnvState`` had ``pool`` / ``pool_drawn`` lack those keys: they load (as ``None``) into
    a state without a pool; a state WITH a pool still needs them (a structure mismatch)."""
    import os

    from flax import serialization

    env = envs.make("pointmass", 4, episode_length=5)
    state = {"env_state": env.reset(jax.random.PRNGKey(0)), "step": jnp.asarray(3)}
    path = os.path.join(str(tmp_path), "old.msgpack")
    io.save_pytree(path, state)
    raw = io.load_pytree(path)
    del raw["env_state"]["pool"], raw["env_state"]["pool_drawn"]
    with open(path, "wb") as f:
        f.write(serialization.msgpack_serialize(raw))
    back = io.load_pytree(path, state)
    assert back["env_state"].pool is None and back["env_state"].pool_drawn is None
    np.testing.assert_array_equal(back["env_state"].obs, state["env_state"].obs)
    assert int(back["step"]) == 3
    pooled = env.with_reset_pool(2)
    with pytest.raises(io.StructureMismatch):
        io.load_pytree(path, {"env_state": pooled.reset(jax.random.PRNGKey(0)), "step": jnp.asarray(0)})


@pytest.mark.parametrize("value", [-1, 1.5, True, "8", 2**31])
def test_a_bad_pool_size_is_refused_and_the_config_field_is_named(value, tmp_path):
    with pytest.raises(ValueError, match=r"^reset_pool: expected an int with 0 <= reset_pool < 2\*\*31"):
        envs.make("pointmass", 4, episode_length=5, reset_pool=value)
    with pytest.raises(ValueError, match=r"^reset_pool: expected an int with 0 <= reset_pool < 2\*\*31"):
        envs.make("pointmass", 4, episode_length=5).with_reset_pool(value)
    from jaxirl.jobs.evaluate import make_env

    with pytest.raises(ValueError, match=r"^env\.reset_pool: expected an int with 0 <= reset_pool < 2\*\*31"):
        make_env({"name": "pointmass", "num_envs": 4, "episode_length": 5, "kwargs": {}, "reset_pool": value})


def test_training_with_a_pool_runs_vmapped_and_resumes_exactly(tmp_path):
    """GAIL on pointmass with a pool: two seeds vmapped; a run of 2 iterations equals 1 + 1 through a checkpoint
    (the pool and its count are part of the saved state), the pool is refilled every iteration, and the metric
    ``train_reset_pool_reused`` says what share of a rollout's restarts reused a state."""
    from jaxirl.train import make_train
    from jaxirl.train_config import make_config

    env = envs.make("pointmass", 8, episode_length=6, reset_pool=8)
    demos, returns = collect_demos(env, jax.tree_util.Partial(lambda obs, key: envs.scripted_action(obs)),
                                   jax.random.PRNGKey(1), 8)
    config = make_config("gail", "ppo", discriminator=dict(hidden=(16,), num_steps=2, expert_batch_size=32,
                                                           policy_batch_size=32),
                         generator_config=dict(num_steps=12, num_minibatches=2, update_epochs=1, hidden=(16,)),
                         num_iterations=2, eval_every=1)
    trainer = make_train(config, env, demos, expert_return=float(returns.mean()), random_return=-30.0)
    states, metrics = jax.jit(jax.vmap(trainer.train))(jax.random.split(jax.random.PRNGKey(0), 2))
    assert np.all(np.isfinite(np.asarray(metrics["disc_loss"])))
    assert states.env_state.pool.obs.shape == (2, 8, 6)
    # 12 steps per rollout with a time limit of 6: all 8 envs end twice, 16 draws since this iteration's refill
    np.testing.assert_array_equal(states.env_state.pool_drawn, 16)
    # the share of restarts that reused a pool state, per iteration: 8 of 16 (a metric only with a pool)
    np.testing.assert_array_equal(metrics["train_reset_pool_reused"], 0.5)
    plain = make_train(config, env.with_reset_pool(0), demos, expert_return=float(returns.mean()), random_return=-30.0)
    assert "train_reset_pool_reused" not in jax.eval_shape(plain.train, jax.random.PRNGKey(0))[1]
    roomy = make_train(config, env.with_reset_pool(16), demos, expert_return=float(returns.mean()), random_return=-30.0)
    np.testing.assert_array_equal(jax.jit(roomy.train)(jax.random.PRNGKey(0))[1]["train_reset_pool_reused"], 0.0)

    straight, _ = trainer.run(trainer.init(jax.random.PRNGKey(5)), 2)
    half, _ = trainer.run(trainer.init(jax.random.PRNGKey(5)), 1)
    path = io.save_checkpoint(str(tmp_path), 1, half)
    restored, _ = io.load_checkpoint(path, trainer.init(jax.random.PRNGKey(0)))
    resumed, _ = trainer.run(restored, 1)
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(straight), strict=True):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_pool_drawn_at_reset_is_independent_of_the_first_episodes():
    """reset() draws the pool from a key of its own (split off the state's key, as refill does): no pool state is
    one of the first episodes' states, so an env ending early does not replay another env's start (a pool drawn
    from the first episodes' key would: ``split(k, N)[:M] == split(k, M)`` under JAX's partitionable threefry)."""
    env = envs.make("pointmass", 8, episode_length=5, reset_pool=8)
    for stagger in (False, True):
        state = env.reset(jax.random.PRNGKey(7), stagger=stagger)
        live, pool = np.asarray(state.obs)[:, :2], np.asarray(state.pool.obs)[:, :2]
        assert not any((pool == row).all(axis=1).any() for row in live), stagger
        assert len(np.unique(np.concatenate([live, pool]), axis=0)) == 16


def test_the_job_configs_take_env_reset_pool_and_make_env_passes_it_on():
    """``env.reset_pool`` is a key of the env section of the train, expert and bc jobs (an unknown key is refused),
    and make_env builds the env with it."""
    from jaxirl.config import merge
    from jaxirl.jobs import bc, expert, train
    from jaxirl.jobs.evaluate import make_env

    for job in (train, expert, bc):
        cfg = merge(job.defaults(), {"env": {"num_envs": 4, "episode_length": 5, "reset_pool": 6}})
        assert make_env(cfg["env"]).reset_pool == 6, job.__name__
        assert make_env(job.defaults()["env"]).reset_pool == 0


def test_make_passes_reset_pool_to_every_kind_of_env(env_registry):
    """make(reset_pool=M) for a Brax env and for an env registered with register_env, not only pointmass."""
    envs.register_env("pool_pointmass", lambda **kw: envs.PointMass(**kw))
    for name, backend in (("fast", None), ("inverted_pendulum", "spring"), ("pool_pointmass", None)):
        assert envs.make(name, 2, backend=backend, reset_pool=3).reset_pool == 3, name
        assert envs.make(name, 2, backend=backend).reset_pool == 0, name


def test_stepping_a_state_without_a_pool_with_a_pooled_env_names_the_cause():
    env = envs.make("pointmass", 2, episode_length=5, reset_pool=2)
    plain_state = env.with_reset_pool(0).reset(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"^state: pointmass has a reset pool \(reset_pool=2\) and this state none"):
        env.step(plain_state, jnp.zeros((2, 2)))
    env.step(env.refill(plain_state), jnp.zeros((2, 2)))  # refill gives it one
