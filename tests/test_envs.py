"""Environments: auto-reset keeps the true final observation, termination vs truncation, return
tracking, exact sampling of tabular MDPs, input validation."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import envs
from jaxirl.envs.base import BaseState, VecEnv
from jaxirl.tabular.mdp import TabularMDP


def _run(env, actions, key=jax.random.PRNGKey(0)):
    """Scan ``env.step`` over ``actions`` (T, N, ...); also step the base env by hand from each state."""

    def body(state, a):
        env_action = a if env.discrete else jnp.clip(a, -1.0, 1.0)
        manual = jax.vmap(env.base.step)(state.inner, env_action)
        new_state, tr = env.step(state, a)
        return new_state, (tr, manual.obs, manual.reward, manual.done, new_state)

    return jax.jit(lambda k: jax.lax.scan(body, env.reset(k), actions))(key)


def _check_episode_bookkeeping(tr, states):
    """Per env: ``last_return`` at each episode end equals the summed rewards of that episode."""
    done = np.asarray(tr.terminated + tr.truncated) > 0
    rew = np.asarray(tr.reward, np.float64)
    T, N = rew.shape
    running, length = np.zeros(N), np.zeros(N, int)
    last, last_len, ends = np.zeros(N), np.zeros(N, int), np.zeros(N, int)
    for t in range(T):  # a plain re-implementation of the bookkeeping, vectorised over envs
        running, length = running + rew[t], length + 1
        last, last_len = np.where(done[t], running, last), np.where(done[t], length, last_len)
        ends += done[t]
        running, length = np.where(done[t], 0.0, running), np.where(done[t], 0, length)
        np.testing.assert_allclose(states.last_return[t], last, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(states.episode_return[t], running, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(states.last_length[t], last_len)
        np.testing.assert_array_equal(states.episode_length[t], length)
        np.testing.assert_array_equal(states.completed[t], ends)
    assert ends.sum() > 0


def test_pointmass_truncation_keeps_true_final_obs():
    env = envs.make("pointmass", num_envs=3, episode_length=5)
    assert (env.observation_size, env.action_size, env.discrete) == (6, 2, False)
    actions = jax.random.uniform(jax.random.PRNGKey(1), (12, 3, 2), minval=-1.5, maxval=1.5)
    _, (tr, manual_obs, manual_rew, _, states) = _run(env, actions)
    # The transition's next_obs is exactly what the base env produced from the pre-step state.
    np.testing.assert_array_equal(tr.next_obs, manual_obs)
    np.testing.assert_array_equal(tr.reward, manual_rew)
    np.testing.assert_array_equal(tr.action, actions)  # recorded as given, clipped only for the env
    expected_trunc = np.zeros((12, 3))
    expected_trunc[[4, 9]] = 1.0
    np.testing.assert_array_equal(tr.truncated, expected_trunc)
    np.testing.assert_array_equal(tr.terminated, 0.0)
    # Inside an episode the next obs is the next step's obs; at an end the env was reset.
    np.testing.assert_array_equal(tr.obs[1:5], tr.next_obs[0:4])
    for t in (4, 9):
        obs_after = np.asarray(states.obs[t])
        assert np.all(obs_after[:, 2:4] == 0.0), "a reset point mass starts at rest"
        assert np.all(np.abs(obs_after[:, :2] - np.asarray(tr.next_obs[t])[:, :2]).sum(-1) > 0)
        np.testing.assert_array_equal(tr.obs[t + 1], obs_after)
    # The goal is part of the obs and changes at the reset (fresh key per reset).
    assert not np.allclose(tr.obs[5, :, 4:6], tr.obs[0, :, 4:6])
    assert not np.allclose(tr.obs[10, :, 4:6], tr.obs[5, :, 4:6])
    _check_episode_bookkeeping(tr, states)


def test_inverted_pendulum_termination_and_truncation():
    env = envs.make("inverted_pendulum", num_envs=2, episode_length=10, backend="spring")
    # Env 0 pushes hard (the pole falls after a few steps); env 1 does nothing (survives to the limit).
    actions = jnp.ones((25, 2, 1)) * jnp.array([1.0, 0.0])[None, :, None]
    _, (tr, manual_obs, manual_rew, manual_done, states) = _run(env, actions)
    np.testing.assert_allclose(tr.next_obs, manual_obs, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(tr.terminated, manual_done)
    term, trunc = np.asarray(tr.terminated), np.asarray(tr.truncated)
    assert term[:, 0].sum() >= 2 and trunc[:, 0].sum() == 0
    assert term[:, 1].sum() == 0 and list(np.flatnonzero(trunc[:, 1])) == [9, 19]
    for t in np.flatnonzero(term[:, 0]):
        # The true final observation is the fallen pole (|angle| > 0.2), not the reset state.
        assert abs(tr.next_obs[t, 0, 1]) > 0.2
        assert np.all(np.abs(states.obs[t, 0]) < 0.05), "a fresh episode starts near upright"
        if t + 1 < 25:
            np.testing.assert_array_equal(tr.obs[t + 1, 0], states.obs[t, 0])
    _check_episode_bookkeeping(tr, states)


class _Countdown:
    """Terminates after ``k`` steps (to test termination and the time limit hitting together)."""

    action_size = 1

    def __init__(self, k):
        self.k = k

    def reset(self, rng):
        z = jnp.zeros((), jnp.float32)
        return BaseState(pipeline_state=jnp.zeros((), jnp.int32), obs=jnp.zeros(1), reward=z, done=z)

    def step(self, state, action):
        t = state.pipeline_state + 1
        return state.replace(
            pipeline_state=t, obs=t[None].astype(jnp.float32), reward=jnp.ones(()), done=(t >= self.k).astype(jnp.float32)
        )


@pytest.mark.parametrize("k, limit", [(3, 3), (3, 5), (5, 3)])
def test_termination_has_priority_over_truncation(k, limit):
    env = VecEnv(_Countdown(k), num_envs=1, episode_length=limit, name="countdown")
    _, (tr, _, _, _, states) = _run(env, jnp.zeros((7, 1, 1)))
    ends = min(k, limit)
    t_end = ends - 1
    assert tr.terminated[t_end, 0] == float(k <= limit)
    assert tr.truncated[t_end, 0] == float(k > limit)
    assert tr.next_obs[t_end, 0, 0] == ends  # true final obs
    assert states.obs[t_end, 0, 0] == 0.0  # reset
    assert states.last_return[t_end, 0] == ends
    _check_episode_bookkeeping(tr, states)


def _random_mdp(key, S, A, horizon=None, discount=0.9):
    k1, k2 = jax.random.split(key)
    T = jax.random.dirichlet(k1, jnp.ones(S) * 0.7, (S, A))
    p0 = jax.random.dirichlet(k2, jnp.ones(S))
    return TabularMDP(T, p0, discount=discount, horizon=horizon)


@pytest.mark.parametrize("sparse", [False, True])
def test_tabular_sampling_matches_transition(sparse):
    S, A, N, T = 4, 2, 512, 40
    mdp = _random_mdp(jax.random.PRNGKey(3), S, A)
    if sparse:  # the same dynamics stored as K = S next states in permuted order
        perm = jnp.array([2, 0, 3, 1])
        mdp = TabularMDP(mdp.transition[:, :, perm], mdp.initial, 0.9, None, jnp.broadcast_to(perm, (S, A, S)))
    reward = jax.random.normal(jax.random.PRNGKey(4), (S, A, S))
    env = envs.from_mdp(mdp, reward, num_envs=N, episode_length=8)
    assert (env.observation_size, env.action_size, env.discrete, env.num_actions) == (S, 1, True, A)
    actions = jax.random.randint(jax.random.PRNGKey(5), (T, N), 0, A)
    _, (tr, _, _, _, states) = _run(env, actions.astype(jnp.int32))
    s = np.asarray(env.state_index(tr.obs)).ravel()
    s2 = np.asarray(env.state_index(tr.next_obs)).ravel()
    a = np.asarray(tr.action).ravel()
    np.testing.assert_allclose(tr.reward.ravel(), np.asarray(reward)[s, a, s2], rtol=1e-6)
    dense = np.asarray(mdp.dense_transition())
    for si in range(S):
        for ai in range(A):
            sel = (s == si) & (a == ai)
            n = sel.sum()
            assert n > 200
            freq = np.bincount(s2[sel], minlength=S) / n
            sigma = np.sqrt(dense[si, ai] * (1 - dense[si, ai]) / n) + 1e-3
            assert np.all(np.abs(freq - dense[si, ai]) < 5 * sigma), (si, ai, freq, dense[si, ai])
    # First states of episodes follow the initial distribution.
    first = np.asarray(env.state_index(tr.obs[::8])).ravel()
    freq0 = np.bincount(first, minlength=S) / first.size
    p0 = np.asarray(mdp.initial)
    assert np.all(np.abs(freq0 - p0) < 5 * np.sqrt(p0 * (1 - p0) / first.size) + 1e-3)
    np.testing.assert_array_equal(tr.truncated[7::8], 1.0)
    _check_episode_bookkeeping(tr, states)


def test_tabular_finite_horizon_and_state_rewards():
    mdp = _random_mdp(jax.random.PRNGKey(6), 3, 2, horizon=4, discount=1.0)
    env = envs.from_mdp(mdp, jnp.array([1.0, 10.0, 100.0]), num_envs=5)
    assert env.episode_length == 4 and env.mdp is mdp
    _, (tr, *_rest) = _run(env, jnp.zeros((8, 5), jnp.int32))
    np.testing.assert_array_equal(tr.reward, np.array([1.0, 10.0, 100.0])[np.asarray(env.state_index(tr.obs))])
    np.testing.assert_array_equal(tr.truncated[3::4], 1.0)
    np.testing.assert_array_equal(tr.truncated.sum(), 10)


@pytest.mark.parametrize("kind", ["list", "numpy"])
def test_tabular_env_from_an_mdp_of_lists_or_numpy_arrays_steps(kind):
    """An MDP given as Python lists (converted and validated on construction) or numpy arrays makes an env that
    steps (numpy arrays cannot be indexed by a traced state: the env holds JAX arrays), dense and sparse."""
    T = [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.3, 0.7]]]
    as_kind = (lambda x, dt=np.float32: x) if kind == "list" else (lambda x, dt=np.float32: np.asarray(x, dt))
    dense = TabularMDP(as_kind(T), as_kind([1.0, 0.0]), 0.9)
    sparse = TabularMDP(as_kind(T), as_kind([1.0, 0.0]), 0.9, None, as_kind([[[0, 1], [0, 1]], [[0, 1], [0, 1]]], np.int32))
    for mdp in (dense, sparse):
        env = envs.from_mdp(mdp, jnp.array([0.0, 1.0]), num_envs=2, episode_length=5)
        state = env.reset(jax.random.PRNGKey(0))
        for _ in range(3):
            state, tr = env.step(state, jnp.array([0, 1]))
        assert tr.reward.shape == (2,) and bool(jnp.all(jnp.isfinite(tr.reward)))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="name: unknown environment 'nope'.*pointmass.*halfcheetah"):
        envs.make("nope", 2)
    with pytest.raises(ValueError, match="backend: unknown Brax backend 'warp'.*spring"):
        envs.make("ant", 2, backend="warp")
    with pytest.raises(ValueError, match="backend"):
        envs.make("pointmass", 2, backend="spring")
    with pytest.raises(ValueError, match="num_envs"):
        envs.make("pointmass", 0)
    with pytest.raises(ValueError, match="episode_length"):
        envs.make("pointmass", 2, episode_length=2.5)
    with pytest.raises(ValueError, match="max_speed"):
        envs.make("pointmass", 2, max_speed=-1.0)
    for field in ("arena", "max_speed", "action_cost"):  # an infinite value made NaN observations or rewards
        with pytest.raises(ValueError, match=f"{field}: expected a finite"):
            envs.make("pointmass", 2, **{field: float("inf")})
    with pytest.raises(ValueError, match="env_kwargs: 'pointmass' does not take \\['bogus'\\]"):
        envs.make("pointmass", 2, bogus=1)
    assert envs.make("pointmass", np.int64(3), episode_length=np.int32(5)).num_envs == 3  # numpy ints are ints
    # Brax's test env drops every argument; the others name only the user's arguments, not the backend make adds
    with pytest.raises(ValueError, match="'fast' .Brax's test env. ignores every argument"):
        envs.make("fast", 2, backend="spring")
    with pytest.raises(ValueError, match="'fast' .Brax's test env. ignores every argument"):
        envs.make("fast", 2, anything=1)
    assert envs.make("fast", 2).action_size == 1
    with pytest.raises(ValueError, match=r"env_kwargs: 'inverted_pendulum' does not take \['bogus'\] "):
        envs.make("inverted_pendulum", 2, backend="spring", bogus=1)
    mdp = _random_mdp(jax.random.PRNGKey(0), 3, 2)
    with pytest.raises(ValueError, match="episode_length"):
        envs.from_mdp(mdp, jnp.zeros(3), num_envs=2)  # infinite horizon needs a length
    with pytest.raises(ValueError, match="reward"):
        envs.from_mdp(mdp, jnp.zeros((3, 3)), num_envs=2, episode_length=5)
    with pytest.raises(ValueError, match="reward"):
        envs.from_mdp(mdp, jnp.array([0.0, jnp.nan, 1.0]), num_envs=2, episode_length=5)
    finite = _random_mdp(jax.random.PRNGKey(0), 3, 2, horizon=4, discount=1.0)
    with pytest.raises(ValueError, match="episode_length.*finite horizon 4"):
        envs.from_mdp(finite, jnp.zeros(3), num_envs=2, episode_length=7)


def test_staggered_reset_spreads_truncations_and_leaves_cut_short_episodes_out():
    """``reset(key, stagger=True)``: the same start states, time-limit counters spread over
    ``[0, episode_length)``, so env i is first truncated after ``episode_length - offset_i`` steps and then every
    ``episode_length``; the cut-short first episodes do not enter the episode statistics."""
    from jaxirl.rl import ppo

    L, N, T = 10, 64, 25
    env = envs.make("pointmass", num_envs=N, episode_length=L)
    key = jax.random.PRNGKey(3)
    plain, state = env.reset(key), env.reset(key, stagger=True)
    np.testing.assert_array_equal(state.obs, plain.obs)
    np.testing.assert_array_equal(plain.episode_length, 0)  # the default is unchanged
    offsets = np.asarray(state.episode_length)
    assert offsets.min() >= 0 and offsets.max() < L and len(set(offsets.tolist())) >= L // 2
    np.testing.assert_array_equal(state.completed, -1)

    def body(s, a):
        s, tr = env.step(s, a)
        return s, (tr, ppo.episode_stats(s))

    final, (tr, stats) = jax.jit(lambda s: jax.lax.scan(body, s, jnp.zeros((T, N, 2))))(state)
    expected = np.zeros((T, N))
    for i, k in enumerate(offsets):
        expected[L - 1 - k::L, i] = 1.0
    np.testing.assert_array_equal(tr.truncated, expected)
    np.testing.assert_array_equal(final.completed, expected.sum(0) - 1)
    # by step L - 1 every env has ended its cut-short first episode and none a whole one: nothing is counted
    # (the counters would say L); from step L on, the whole episodes of the envs that completed one, all L long
    assert offsets.max() == L - 1  # an env whose first episode lasts 1 step, so step L ends its first whole one
    np.testing.assert_array_equal(stats["episode_length"][:L], 0.0)
    np.testing.assert_array_equal(stats["episode_length"][L:], float(L))


class _Coin:
    """Each episode flips a coin at reset: heads falls (terminates) after 2 steps, tails never terminates and
    runs to the time limit. Reward 1 per step: with the limit 10 the expected return is 0.5 * 2 + 0.5 * 10 = 6."""

    action_size = 1

    def reset(self, rng):
        z = jnp.zeros((), jnp.float32)
        heads = jax.random.bernoulli(rng).astype(jnp.int32)
        return BaseState(pipeline_state=jnp.stack([jnp.zeros((), jnp.int32), heads]), obs=jnp.zeros(1), reward=z, done=z)

    def step(self, state, action):
        t, heads = state.pipeline_state[0] + 1, state.pipeline_state[1]
        return state.replace(pipeline_state=jnp.stack([t, heads]), obs=t[None].astype(jnp.float32),
                             reward=jnp.ones(()), done=((heads == 1) & (t >= 2)).astype(jnp.float32))


class _Offset(_Coin):
    """Episodes never terminate; reward 1000 per step plus 1 if the reset's coin came up heads: over a time limit
    of 10, returns of 10000 or 10010 — mean 10005, std 5."""

    def step(self, state, action):
        state = super().step(state, action)
        return state.replace(reward=1000.0 + state.pipeline_state[1].astype(jnp.float32), done=jnp.zeros(()))


def test_evaluate_std_keeps_a_small_spread_of_large_returns():
    """The spread is taken about the mean after the window (float32 ``E[R²] − E[R]²`` at returns near 10⁴ has a
    rounding step of several units: it gave 5.657 for a true 6.08 at returns near 5000)."""
    from jaxirl.rl.evaluate import evaluate

    n = 4000
    env = VecEnv(_Offset(), num_envs=n, episode_length=10, name="offset")
    out = evaluate(env, lambda obs, key: jnp.zeros((n, 1)), jax.random.PRNGKey(0))
    assert int(out["num_episodes"]) == n and abs(float(out["mean_return"]) - 10005.0) < 0.5, out
    assert abs(float(out["std_return"]) - 5.0) < 0.1, out  # Bernoulli(1/2) × 10 over 4000 episodes: 5.00 ± 0.04


def test_evaluate_counts_each_envs_first_episodes_not_every_episode_that_ends_in_the_window():
    """``jaxirl.rl.evaluate.evaluate`` estimates the expected return from the initial state distribution: with
    the window one episode length, exactly one episode per env (6 here); averaging every episode that ends in the
    window would lean to the short falls (a fallen env starts again and may fall again, while a long episode
    started late is cut off): 4.8 on the same rollout."""
    from jaxirl.rl.evaluate import evaluate

    n, limit = 4000, 10
    env = VecEnv(_Coin(), num_envs=n, episode_length=limit, name="coin")
    act = lambda obs, key: jnp.zeros((n, 1))  # noqa: E731
    out = evaluate(env, act, jax.random.PRNGKey(0))
    assert int(out["num_episodes"]) == n
    assert abs(float(out["mean_return"]) - 6.0) < 0.25, out  # 4000 episodes, std 4: standard error 0.06
    assert abs(float(out["mean_length"]) - 6.0) < 0.25 and abs(float(out["std_return"]) - 4.0) < 0.1
    two = evaluate(env, act, jax.random.PRNGKey(1), num_steps=2 * limit)  # the first two episodes of every env
    assert int(two["num_episodes"]) == 2 * n and abs(float(two["mean_return"]) - 6.0) < 0.2
    # a window in which no episode can end has no estimate: NaN, not a return of 0
    none = evaluate(env, act, jax.random.PRNGKey(1), num_steps=1)
    assert int(none["num_episodes"]) == 0 and np.isnan(float(none["mean_return"])) and np.isnan(float(none["mean_length"]))

    # the pooled mean of every episode that ends inside one episode length, on the same rollout
    state = env.reset(jax.random.split(jax.random.PRNGKey(0))[0])
    total = count = 0.0
    for _ in range(limit):
        state, tr = env.step(state, jnp.zeros((n, 1)))
        done = np.asarray((tr.terminated + tr.truncated) > 0)
        total += float(np.asarray(state.last_return)[done].sum())
        count += float(done.sum())
    assert total / count < 5.0  # biased towards the falls


def test_step_checks_the_actions_shape_and_kind():
    """A continuous action narrower than action_size broadcast over every actuator (pointmass took (N, 1) for its 2
    forces); a discrete env took float or (N, 1) actions. Checked while tracing; huge time limits are refused."""
    env = envs.make("pointmass", 4, episode_length=5)
    state = env.reset(jax.random.PRNGKey(0))
    env.step(state, jnp.zeros((4, 2)))
    for bad in ((4, 1), (4,), (3, 2)):
        with pytest.raises(ValueError, match=rf"action: pointmass expects shape \(4, 2\).*got {re.escape(str(bad))}"):
            env.step(state, jnp.zeros(bad))
    mdp = TabularMDP(jnp.full((3, 2, 3), 1.0 / 3), jnp.full((3,), 1.0 / 3), 0.9)
    tab = envs.from_mdp(mdp, jnp.zeros(3), 4, episode_length=5)
    ts = tab.reset(jax.random.PRNGKey(0))
    tab.step(ts, jnp.zeros((4,), jnp.int32))
    with pytest.raises(ValueError, match="takes integer indices"):
        tab.step(ts, jnp.zeros((4,)))
    with pytest.raises(ValueError, match=r"expects shape \(4,\)"):
        tab.step(ts, jnp.zeros((4, 1), jnp.int32))
    with pytest.raises(ValueError, match=r"episode_length: expected a positive int below 2\*\*31"):
        envs.make("pointmass", 2, episode_length=2**31)


def test_a_users_env_whose_step_state_differs_from_resets_is_refused_up_front():
    """The auto-reset selects between a stepped and a fresh state and the rollout scans over it: a user's ``step``
    that returns another dtype (here an int ``done`` in reset, float in step — as a float32 constant in reset and
    float64 arithmetic in step do under x64) or other metrics keys than ``reset`` is a ValueError naming the field
    when wrapped, not a TypeError from inside ``lax.cond``."""

    class IntDone(_Countdown):
        def reset(self, rng):
            return super().reset(rng).replace(done=jnp.zeros((), jnp.int32))

    with pytest.raises(ValueError, match=r"returns .done as float32\[\] where reset\(key\) gave int32\[\]"):
        VecEnv(IntDone(3), num_envs=2, episode_length=5, name="intdone")

    class NewMetric(_Countdown):
        def step(self, state, action):
            return super().step(state, action).replace(metrics={"speed": jnp.zeros(())})

    with pytest.raises(ValueError, match=r"another structure than reset\(key\).*\['speed'\]"):
        VecEnv(NewMetric(3), num_envs=2, episode_length=5, name="metric")

    class NoDone:
        action_size = 1

        def reset(self, rng):
            from typing import NamedTuple

            class S(NamedTuple):
                obs: jax.Array
                reward: jax.Array

            return S(jnp.zeros(1), jnp.zeros(()))

    with pytest.raises(ValueError, match="must return a state with .obs, .reward and .done.*without .done"):
        VecEnv(NoDone(), num_envs=2, episode_length=5, name="nodone")
    VecEnv(_Countdown(3), num_envs=2, episode_length=5)  # matching states pass


def test_a_users_env_is_checked_when_wrapped():
    """VecEnv checks a user's env before anything compiles: one env's step must return a scalar reward and done
    and an observation like reset's; ``action_size`` must be a positive int; an env inside Brax's training
    wrappers (brax.envs.create: its own time limit and auto-reset) is refused."""

    class WrongReward(_Countdown):
        def step(self, state, action):
            out = super().step(state, action)
            return out.replace(reward=out.reward[None])

    with pytest.raises(ValueError, match=r"must return reward of shape \(\), got \(1,\)"):
        VecEnv(WrongReward(3), num_envs=2, episode_length=5, name="wrong")
    no_size = _Countdown(3)
    no_size.action_size = None
    with pytest.raises(ValueError, match="action_size must be a positive int, got None"):
        VecEnv(no_size, num_envs=2, episode_length=5)
    assert VecEnv(_Countdown(3), num_envs=2, episode_length=5).observation_size == 1
    jax_size = _Countdown(3)
    jax_size.action_size = jnp.int32(1)  # a concrete integer scalar of any kind
    assert VecEnv(jax_size, num_envs=2, episode_length=5).action_size == 1
    from brax import envs as brax_envs

    wrapped = brax_envs.create("inverted_pendulum", episode_length=10, backend="spring")
    with pytest.raises(ValueError, match="wrapped in Brax's .*Wrapper .*pass the bare env"):
        VecEnv(wrapped, num_envs=2, episode_length=10)



def test_pointmass_step_is_the_documented_dynamics():
    """One step against the closed form: v' = (1 − r) v + r · max_speed · a, p' = clip(p + dt v', ±arena), reward
    −‖p' − g‖ − c ‖a‖² (the defaults r = 0.5, max_speed 2, dt 0.1, arena 1, c = 0.01)."""
    from jaxirl.envs.pointmass import PointMass

    pm = PointMass()
    s = pm.reset(jax.random.PRNGKey(0))
    s = s.replace(pipeline_state={"pos": jnp.array([0.2, -0.3]), "vel": jnp.array([0.5, 0.1]),
                                  "goal": jnp.array([0.4, 0.4])})
    a = np.array([0.6, -1.0])
    n = pm.step(s, jnp.asarray(a))
    v = 0.5 * np.array([0.5, 0.1]) + 0.5 * 2.0 * a
    p = np.clip(np.array([0.2, -0.3]) + 0.1 * v, -1, 1)
    np.testing.assert_allclose(n.obs, np.concatenate([p, v, [0.4, 0.4]]), rtol=1e-6)
    np.testing.assert_allclose(n.reward, -np.linalg.norm(p - [0.4, 0.4]) - 0.01 * (a ** 2).sum(), rtol=1e-6)


class _Fall3:
    """Reward 1 per step; each reset draws a fall at step 2, at step 5, or never (10-step limit)."""
    action_size = 1

    def reset(self, rng):
        z = jnp.zeros((), jnp.float32)
        fall = jnp.array([2, 5, 10**6])[jax.random.randint(rng, (), 0, 3)]
        return BaseState(pipeline_state=jnp.stack([jnp.zeros((), jnp.int32), fall]), obs=jnp.zeros(1), reward=z, done=z)

    def step(self, state, action):
        t, fall = state.pipeline_state[0] + 1, state.pipeline_state[1]
        return state.replace(pipeline_state=jnp.stack([t, fall]), obs=t[None].astype(jnp.float32),
                             reward=jnp.ones(()), done=(t >= fall).astype(jnp.float32))


@pytest.mark.parametrize("seed", [0, 1])
def test_evaluate_equals_a_plain_loop_over_each_envs_first_episode(seed):
    """``evaluate``'s mean return is the mean of each env's FIRST episode, as a plain loop over ``env.step``
    records it, with episodes of three lengths (a later, different episode must not overwrite the first; with
    seed 0 alone such overwrites happen to cancel in the mean: a mutation audit found it)."""
    from jaxirl.rl.evaluate import evaluate

    n = 600
    env = VecEnv(_Fall3(), num_envs=n, episode_length=10, name="fall3")
    out = evaluate(env, lambda o, k: jnp.zeros((n, 1)), jax.random.PRNGKey(seed))
    k_reset, _ = jax.random.split(jax.random.PRNGKey(seed))
    s, first = env.reset(k_reset), np.full(n, np.nan)
    for _ in range(10):
        s, tr = env.step(s, jnp.zeros((n, 1)))
        done = np.asarray(tr.terminated + tr.truncated) > 0
        new = done & np.isnan(first)
        first[new] = np.asarray(s.last_return)[new]
    assert not np.isnan(first).any()
    assert float(out["mean_return"]) == pytest.approx(float(first.mean()), rel=1e-6)
    assert 3.0 < float(out["mean_return"]) < 8.0  # a mixture of 2, 5 and 10


def test_register_env_makes_a_name_of_make_with_its_arguments(env_registry):
    """`register_env(name, constructor)`: `make(name, ...)` batches what the constructor returns for the env kwargs
    (and a backend, passed on only when given); bad registrations and constructors are named."""
    seen = []

    def slow(backend=None, **kw):
        seen.append(backend)
        return envs.PointMass(**{"max_speed": 0.5, **kw})

    assert envs.register_env("slow_pm", slow) is slow
    assert "slow_pm" in envs.env_names()
    vec = envs.make("slow_pm", 3, episode_length=7, arena=2.0)
    assert (vec.name, vec.num_envs, vec.episode_length) == ("slow_pm", 3, 7)
    assert (vec.base.max_speed, vec.base.arena) == (0.5, 2.0) and seen == [None]
    state = vec.reset(jax.random.PRNGKey(0))
    _, tr = vec.step(state, jnp.ones((3, 2)))
    assert tr.obs.shape == (3, 6)
    envs.make("slow_pm", 2, backend="spring")
    assert seen[-1] == "spring"
    with pytest.raises(ValueError, match="env_kwargs: 'slow_pm' does not take"):
        envs.make("slow_pm", 2, no_such_arg=1)
    envs.register_env("slow_pm", slow)  # the same constructor again (a module imported twice): fine
    other_module = {"envs": envs, "__name__": "other_mod", "__file__": "other_mod.py"}
    with pytest.raises(ValueError, match=r"'slow_pm' is already a registered environment \(registered by "
                                         r"(tests\.)?test_envs at .*test_envs.py\)"):
        exec("envs.register_env('slow_pm', lambda: envs.PointMass())", other_module)  # noqa: S102 (other code)
    for args, message in ((("hopper", slow), "one of jaxirl's own environments"),
                          (("my-env", slow), "name: expected an identifier"),
                          (("thing", 3), "constructor: expected a function")):
        with pytest.raises(ValueError, match=message):
            envs.register_env(*args)
    envs.register_env("slow_pm", lambda: envs.PointMass())  # the same module again (reloaded, edited): replaces it
    assert envs.make("slow_pm", 2).base.max_speed == 2.0
    exec("envs.register_env('slow_pm', slow, replace=True)", {**other_module, "slow": slow})  # noqa: S102
    assert envs.make("slow_pm", 2).base.max_speed == 0.5
    envs.register_env("not_an_env", lambda: object())
    with pytest.raises(ValueError, match="returned object, which has no 'reset'"):
        envs.make("not_an_env", 2)
