"""Reward models: AIRL's shaped score, absorbing terminal states, encodings, normalisation, re-use."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl import nets
from jaxirl import reward as R


def _batch(key, n=7, obs=3, act=2):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    return (
        jax.random.normal(k1, (n, obs)),
        jax.random.uniform(k2, (n, act), minval=-1, maxval=1),
        jax.random.normal(k3, (n, obs)),
        (jax.random.uniform(k4, (n,)) < 0.4).astype(jnp.float32),
    )


def _mlp_apply(variables, x, hidden, activation):
    return nets.MLP(hidden=hidden, out_dim=1, activation=activation).apply(variables, x)[..., 0]


@pytest.mark.parametrize("inputs", ["s", "sa"])
def test_airl_score_is_g_plus_shaping_with_absorbing_terminal(inputs):
    model = R.make_reward_model("airl", obs_size=3, action_size=2, inputs=inputs, hidden=(8,), potential_hidden=(5,))
    params = R.init(model, jax.random.PRNGKey(0))
    obs, act, nxt, term = _batch(jax.random.PRNGKey(1))
    assert 0 < float(term.sum()) < len(term)
    x = R.encode(model, obs, act, nxt, term)
    gamma = 0.9
    f = R.score(model, params, x, gamma)
    g_in = obs if inputs == "s" else jnp.concatenate([obs, act], -1)
    g = _mlp_apply(params.net["score"], g_in, (8,), model.activation)
    h = _mlp_apply(params.net["potential"], obs, (5,), model.activation)
    h_next = _mlp_apply(params.net["potential"], nxt, (5,), model.activation)
    np.testing.assert_allclose(f, g + gamma * (1 - term) * h_next - h, rtol=1e-5, atol=1e-6)
    # at a terminated transition the next state is absorbing: f does not depend on s'
    x2 = R.encode(model, obs, act, nxt + 5.0, term)
    f2 = R.score(model, params, x2, gamma)
    np.testing.assert_allclose(np.where(term > 0, f2, f), f, rtol=1e-6)
    assert np.all(np.abs(np.asarray(f2 - f))[np.asarray(term) == 0] > 0)
    # the re-usable reward is g; state-only g ignores the action
    r = R.reward_fn(model, params)(obs, act, nxt)
    np.testing.assert_allclose(r, g, rtol=1e-5, atol=1e-6)
    r_other = R.reward_fn(model, params)(obs, -act)
    if inputs == "s":
        np.testing.assert_allclose(r_other, r, rtol=1e-6)
    else:
        assert not np.allclose(r_other, r)


def test_mlp_reward_inputs_and_discrete_one_hot():
    model = R.make_reward_model("mlp", obs_size=4, num_actions=3, inputs="sas", hidden=(6,))
    assert model.discrete and model.action_size == 3
    params = R.init(model, jax.random.PRNGKey(2))
    obs = jax.random.normal(jax.random.PRNGKey(3), (5, 4))
    nxt = jax.random.normal(jax.random.PRNGKey(4), (5, 4))
    a = jnp.array([0, 2, 1, 1, 0], jnp.int32)
    r = R.reward_fn(model, params)(obs, a, nxt)
    x = jnp.concatenate([obs, jax.nn.one_hot(a, 3), nxt], -1)
    np.testing.assert_allclose(r, _mlp_apply(params.net["score"], x, (6,), model.activation), rtol=1e-5)
    np.testing.assert_allclose(R.reward_fn(model, params)(obs, a[:, None], nxt), r, rtol=1e-6)
    with pytest.raises(ValueError, match="next_obs"):
        R.reward_fn(model, params)(obs, a)
    # works under jit and with extra leading dims
    r2 = jax.jit(R.reward_fn(model, params))(obs.reshape(1, 5, 4), a.reshape(1, 5), nxt.reshape(1, 5, 4))
    np.testing.assert_allclose(r2[0], r, rtol=1e-5)
    # wrong input shapes are a ValueError naming the input (also under jit: shapes are static)
    fn = R.reward_fn(model, params)
    for args, field in (((obs[:, :3], a, nxt), r"obs: expected shape \(\.\.\., 4\)"),
                        ((obs, a[:4], nxt), r"action: expected shape \(5,\) or \(5, 1\)"),
                        ((obs, a, nxt[:, :3]), "next_obs: expected the shape of obs")):
        with pytest.raises(ValueError, match=field):
            jax.jit(fn)(*args)
    # discrete actions are integer indices: a float was truncated (0.9 -> 0), an index out of range one-hot encoded
    # to all zeros and got a plausible reward; refused (the range where the values are known, outside jit)
    with pytest.raises(ValueError, match="discrete actions are integer indices"):
        jax.jit(fn)(obs, a.astype(jnp.float32), nxt)
    for bad in (3, -1):
        with pytest.raises(ValueError, match=r"action: indices must lie in \[0, 3\)"):
            fn(obs, a.at[0].set(bad), nxt)
    gail = R.make_reward_model("gail", obs_size=4, action_size=3, hidden=(6,))
    g_params = R.init(gail, jax.random.PRNGKey(2))
    with pytest.raises(ValueError, match=r"action: expected shape \(5, 3\)"):
        R.reward_fn(gail, g_params)(obs, jnp.zeros((5,)))
    assert R.reward_fn(gail, g_params)(obs[0], jnp.zeros(3)).shape == ()  # one sample


def test_normalisation_uses_running_statistics():
    plain = R.make_reward_model("gail", obs_size=3, action_size=2, hidden=(4,))
    normed = R.make_reward_model("gail", obs_size=3, action_size=2, hidden=(4,), normalize=True)
    params = R.init(normed, jax.random.PRNGKey(5))
    obs, act, nxt, term = _batch(jax.random.PRNGKey(6), n=64)
    x = R.encode(normed, obs, act, nxt, term)
    # before any update the statistics are the identity (inputs well inside the clip range ±10)
    np.testing.assert_allclose(R.score(normed, params, x), R.score(plain, params.replace(norm=None), x), rtol=1e-6)
    obs = obs * 3.0 + 2.0
    x = R.encode(normed, obs, act, nxt, term)
    params = R.update_norm(normed, params, x)
    all_obs = np.concatenate([np.asarray(obs), np.asarray(nxt)])
    np.testing.assert_allclose(params.norm.mean, all_obs.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(params.norm.var, all_obs.var(0), rtol=1e-4)
    z = (obs - all_obs.mean(0)) / np.sqrt(all_obs.var(0) + 1e-8)
    want = R.score(plain, params.replace(norm=None), R.encode(plain, z, act, nxt, term))
    np.testing.assert_allclose(R.score(normed, params, x), want, rtol=1e-4, atol=1e-5)
    assert R.update_norm(plain, params, x) is params  # no-op without normalisation


@pytest.mark.parametrize("inputs", ["s", "sa"])
def test_airl_normalises_the_next_state_like_the_state(inputs):
    """With ``normalize=True`` both ``s`` and ``s'`` pass through the running statistics before ``g`` and ``h``:
    ``f = g(z) + γ (1 − term) h(z') − h(z)`` with ``z, z'`` normalised by hand; and with ``s' = s``, ``γ = 1`` and
    no termination the shaping cancels, ``f = g``."""
    model = R.make_reward_model("airl", obs_size=3, action_size=2, inputs=inputs, hidden=(8,), potential_hidden=(5,),
                                normalize=True)
    params = R.init(model, jax.random.PRNGKey(0))
    obs, act, nxt, term = _batch(jax.random.PRNGKey(1), n=32)
    obs, nxt = obs * 3.0 + 2.0, nxt * 2.0 - 4.0  # far from the identity statistics
    x = R.encode(model, obs, act, nxt, term)
    params = R.update_norm(model, params, x)
    all_obs = np.concatenate([np.asarray(obs, np.float64), np.asarray(nxt, np.float64)])
    mu, sd = all_obs.mean(0), np.sqrt(all_obs.var(0) + 1e-8)
    z, z_next = (np.asarray(obs) - mu) / sd, (np.asarray(nxt) - mu) / sd
    assert np.abs(z).max() < 10 and np.abs(z_next).max() < 10  # inside the clip
    z, z_next = jnp.asarray(z, jnp.float32), jnp.asarray(z_next, jnp.float32)
    gamma = 0.9
    g_in = z if inputs == "s" else jnp.concatenate([z, act], -1)
    g = _mlp_apply(params.net["score"], g_in, (8,), model.activation)
    h = _mlp_apply(params.net["potential"], z, (5,), model.activation)
    h_next = _mlp_apply(params.net["potential"], z_next, (5,), model.activation)
    terms = R.airl_terms(model, params, x, gamma)
    np.testing.assert_allclose(terms["h_next"], h_next, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(terms["f"], g + gamma * (1 - term) * h_next - h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(R.score(model, params, x, gamma), terms["f"], rtol=1e-6)
    same = R.encode(model, obs, act, obs, jnp.zeros_like(term))
    np.testing.assert_allclose(R.score(model, params, same, 1.0), g, rtol=1e-4, atol=1e-5)


def test_gail_reward_fn_variants():
    model = R.make_reward_model("gail", obs_size=3, action_size=2, hidden=(4,))
    params = R.init(model, jax.random.PRNGKey(7))
    obs, act, _, _ = _batch(jax.random.PRNGKey(8))
    logit = np.asarray(R.reward_fn(model, params, "logit")(obs, act), np.float64)
    d = 1 / (1 + np.exp(-logit))
    np.testing.assert_allclose(R.reward_fn(model, params, "gail")(obs, act), -np.log(1 - d), rtol=1e-5)
    np.testing.assert_allclose(R.reward_fn(model, params, "log_d")(obs, act), np.log(d), rtol=1e-5)
    np.testing.assert_allclose(R.reward_fn(model, params)(obs, act), np.log(d) - np.log(1 - d), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(kind="nope"), "kind"),
        (dict(kind="airl", inputs="sas"), "inputs"),
        (dict(kind="mlp", inputs="x"), "inputs"),
        (dict(kind="mlp", hidden=(8, 0)), "hidden"),
        (dict(kind="mlp", activation="sigmoidish"), "activation"),
        (dict(kind="mlp", obs_size=0), "obs_size"),
    ],
)
def test_bad_model_settings_raise(kwargs, field):
    kw = dict(obs_size=3, action_size=2)
    kw.update(kwargs)
    kind = kw.pop("kind")
    with pytest.raises(ValueError, match=field):
        R.make_reward_model(kind, **kw)


def test_bad_which_raises():
    model = R.make_reward_model("airl", obs_size=3, action_size=2)
    params = R.init(model, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="which"):
        R.reward_fn(model, params, "logit")
