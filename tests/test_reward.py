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


def test_gail_on_state_transitions_never_reads_the_action():
    """``inputs="ss"`` (GAIfO, Torabi et al. 2018): the logit is the MLP of ``[s, s']``, the same for any action;
    its learned reward needs ``next_obs``."""
    model = R.make_reward_model("gail", obs_size=3, action_size=2, inputs="ss", hidden=(6,))
    assert R.input_width(model) == 6
    params = R.init(model, jax.random.PRNGKey(0))
    obs, act, nxt, _ = _batch(jax.random.PRNGKey(1))
    fn = R.reward_fn(model, params)
    want = _mlp_apply(params.net["score"], jnp.concatenate([obs, nxt], -1), (6,), model.activation)
    np.testing.assert_allclose(fn(obs, act, nxt), want, rtol=1e-5)
    np.testing.assert_allclose(fn(obs, -act, nxt), want, rtol=1e-5)
    assert not np.allclose(fn(obs, act, obs), want)
    with pytest.raises(ValueError, match=r"next_obs: this reward model takes \(s, s'\) inputs"):
        fn(obs, act)


def _linear_kind(name="linear_logit", **kw):
    """A reward kind of one's own: a linear logit ``w · x + b`` over what ``model.inputs`` names."""
    return R.RewardKind(name=name, init=lambda model, key: {"w": jax.random.normal(key, (R.input_width(model),)),
                                                            "b": jnp.ones(())},
                        score=lambda model, net, inputs, discount: R.input_vector(model, inputs) @ net["w"] + net["b"],
                        **kw)


# a module that registers a linear logit kind with weights 0, 1, 2, ... (its parameters need no training)
_ARANGE_KIND = ("import jax.numpy as jnp\nfrom jaxirl import reward as R\n"
                "R.register_reward_kind(R.RewardKind('{name}', lambda m, k: {{'w': jnp.arange(R.input_width(m), "
                "dtype=jnp.float32)}}, lambda m, net, x, d: R.input_vector(m, x) @ net['w']))\n")


def _user_module(tmp_path, monkeypatch, name: str, source: str) -> None:
    """A module of the test's own, ``name``, importable from ``tmp_path`` (and not imported yet); the imports record
    of :mod:`jaxirl.plugins` empty for the test."""
    import sys

    from jaxirl import plugins

    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_IMPORTED", {})
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_a_reward_kind_of_ones_own(reward_kind_registry, tmp_path, monkeypatch):
    """``register_reward_kind``: the model's score is the kind's, on normalised inputs; its absorbing score is the
    library's; without ``learned`` its re-usable reward is a logit's (GAIL's forms), with it the kind's own by name;
    a saved one loads in a process that never registered it (the module its functions came from is imported);
    bad records are refused by field."""
    import sys

    from jaxirl import io, load_reward

    lin = R.register_reward_kind(_linear_kind(inputs=("sa", "ss")))
    assert "linear_logit" in R.kind_names() and R.register_reward_kind(lin) is lin  # the same one again: fine
    model = R.make_reward_model("linear_logit", obs_size=3, action_size=2, normalize=True, absorbing=True)
    assert model.inputs == "sa" and R.is_logit_network(model)  # the kind's first inputs are its default
    params = R.init(model, jax.random.PRNGKey(0))
    assert sorted(params.net) == ["absorbing", "b", "w"]
    obs, act, nxt, term = _batch(jax.random.PRNGKey(1))
    params = R.update_norm(model, params, R.encode(model, obs * 3 + 1, act, nxt * 3 + 1))  # statistics ≠ identity
    x = jnp.concatenate([nets.normalize(params.norm, obs), act], -1)
    want = x @ params.net["w"] + params.net["b"]
    np.testing.assert_allclose(R.score(model, params, R.encode(model, obs, act, nxt, term), 0.9), want, rtol=1e-5)
    with pytest.raises(ValueError, match="discount: the score of reward kind 'linear_logit' .* pass discount="):
        R.score(model, params, R.encode(model, obs, act, nxt, term))  # a kind of one's own may read γ: no default
    with pytest.raises(ValueError, match="discount: the learned reward of reward kind 'linear_logit'"):
        R.reward_fn(model, params)
    fn = R.reward_fn(model, params, discount=0.9)  # a logit network: "logit" by default, GAIL's forms by name
    np.testing.assert_allclose(fn(obs, act), want, rtol=1e-5)
    np.testing.assert_allclose(R.reward_fn(model, params, "gail", 0.9)(obs, act), jax.nn.softplus(want), rtol=1e-5)
    params = params.replace(net={**params.net, "absorbing": jnp.asarray(0.3)})
    np.testing.assert_allclose(R.absorbing_score(model, params), 3.0, rtol=1e-6)
    # a learned reward of its own, by name
    learned = lambda model, net, inputs, which, discount: {  # noqa: E731
        "w_only": R.input_vector(model, inputs) @ net["w"],
        "bias": jnp.broadcast_to(net["b"] * discount, inputs.obs.shape[:-1])}[which]  # (γ: the run's, passed on)
    own = R.register_reward_kind(_linear_kind("linear_own", learned=learned, rewards=("w_only", "bias")))
    model2 = R.make_reward_model("linear_own", obs_size=3, action_size=2, inputs="ss")
    assert model2.inputs == "ss" and not R.is_logit_network(model2)
    p2 = R.init(model2, jax.random.PRNGKey(3))
    np.testing.assert_allclose(R.reward_fn(model2, p2, discount=0.5)(obs, act, nxt),
                               jnp.concatenate([obs, nxt], -1) @ p2.net["w"], rtol=1e-5)
    np.testing.assert_allclose(R.reward_fn(model2, p2, "bias", 0.5)(obs, act, nxt), np.full(7, 0.5))
    with pytest.raises(ValueError, match="which: for a 'linear_own' reward model expected one of w_only, bias"):
        R.reward_fn(model2, p2, "logit", 0.5)
    with pytest.raises(ValueError, match="next_obs: this reward model takes"):
        R.reward_fn(model2, p2, discount=0.5)(obs, act)
    # saved, then loaded where nothing registered it: the module its functions were defined in is imported
    _user_module(tmp_path, monkeypatch, "kinds_mod", _ARANGE_KIND.format(name="mod_linear"))
    import kinds_mod  # noqa: F401
    mod_model = R.make_reward_model("mod_linear", obs_size=3, action_size=2)
    run = tmp_path / "run"
    run.mkdir()
    io.write_json(str(run / "reward_model.json"), {"model": __import__("dataclasses").asdict(mod_model),
                                                   "algorithm": "x", "reward_type": "logit", "discount": 0.9,
                                                   "kind_module": "kinds_mod"})
    io.save_pytree(str(run / "reward.msgpack"), R.init(mod_model, jax.random.PRNGKey(0)))
    (run / "config.yaml").write_text("imports: [no_such_module_xyz]\n")  # not needed: the registrant comes first
    del reward_kind_registry["mod_linear"], sys.modules["kinds_mod"]
    np.testing.assert_allclose(load_reward(str(run))(obs, act), jnp.concatenate([obs, act], -1) @ jnp.arange(5.0),
                               rtol=1e-5)
    (run / "config.yaml").unlink()
    del reward_kind_registry["mod_linear"], sys.modules["kinds_mod"]
    spec = {"model": __import__("dataclasses").asdict(mod_model), "algorithm": "x", "reward_type": "logit",
            "discount": 0.9}
    io.write_json(str(run / "reward_model.json"), {**spec, "kind_module": "__main__", "kind_file": "/x/train_mine.py"})
    with pytest.raises(ValueError, match="of kind 'mod_linear', registered by the script '/x/train_mine.py' run as "
                                         "__main__, which this process has not run: run that registration"):
        load_reward(str(run))
    io.write_json(str(run / "reward_model.json"), {**spec, "kind_module": "__main__"})  # a notebook's, say
    with pytest.raises(ValueError, match="registered by an interactive session \\(no file\\) run as __main__"):
        load_reward(str(run))
    io.write_json(str(run / "reward_model.json"), spec)
    with pytest.raises(ValueError, match="of kind 'mod_linear', registered by code of one's own that this process has "
                                         "not run .*; import the module that registers it"):
        load_reward(str(run))
    # another kind of that name in this process, with other parameters: a warning names both registrants, and the
    # mismatch the kind
    io.write_json(str(run / "reward_model.json"), {**spec, "kind_module": "kinds_mod"})
    R.register_reward_kind(_linear_kind("mod_linear"))
    with pytest.warns(UserWarning, match=r"its reward kind 'mod_linear' came from 'kinds_mod'; the one of that name "
                                         r"registered in this process, from '(tests\.)?test_reward', is used"), \
            pytest.raises(ValueError, match=r"the parameters do not fit reward kind 'mod_linear' as registered in this "
                                            r"process \(by (tests\.)?test_reward at .*test_reward.py; the run's came "
                                            r"from kinds_mod"):
        load_reward(str(run))
    # bad records and names, by field
    with pytest.raises(ValueError, match="kind: expected one of mlp, gail, airl, linear_logit, linear_own, mod_linear, got 'nope'; the reward kinds registered by the modules of .imports.: kinds_mod "):
        R.make_reward_model("nope", obs_size=3, action_size=2)
    with pytest.raises(ValueError, match="inputs: for a 'linear_logit' reward expected one of sa, ss, got 's'"):
        R.make_reward_model("linear_logit", obs_size=3, action_size=2, inputs="s")
    bad_init = R.register_reward_kind(_linear_kind("bad_init")._replace(init=lambda m, k: {"absorbing": 0.0}))
    with pytest.raises(ValueError, match="init: reward kind 'bad_init' returned the key 'absorbing', which is the "
                                         "library's"):
        R.init(R.make_reward_model(bad_init.name, obs_size=3, action_size=2), jax.random.PRNGKey(0))
    for bad, message in (
        (lin._replace(name="gail"), "'gail' is a built-in reward kind"),
        (lin._replace(name="a b"), "name: expected an identifier"),
        (lin._replace(name="x", score=None), "score: expected a function"),
        (lin._replace(name="x", inputs=("sa", "xs")), "inputs: expected a non-empty tuple of distinct names"),
        (lin._replace(name="x", inputs=()), "inputs: expected a non-empty tuple"),
        (lin._replace(name="x", rewards=("r",)), "rewards: names of learned rewards need a learned function"),
        (own._replace(name="x", rewards=()), "rewards: expected a non-empty tuple of names"),
        ("linear", "expected a jaxirl.reward.RewardKind"),
    ):
        with pytest.raises(ValueError, match=message):
            R.register_reward_kind(bad)
    assert R.register_reward_kind(lin._replace(inputs=("s",)), replace=True).inputs == ("s",)
    # the same module registering a name again (a reload, a notebook cell run twice) replaces it; other code is
    # refused, naming the module that registered it
    again = _linear_kind(inputs=("sa",))
    assert R.register_reward_kind(again) is again and reward_kind_registry["linear_logit"] is again
    sys.modules.pop("kinds_mod", None)
    with pytest.raises(ValueError, match=r"'mod_linear' is already a reward kind \(registered by (tests\.)?test_reward at "
                                         r".*test_reward.py\)"):
        import kinds_mod  # noqa: F401,F811  (another module registering the name this test module has)
    sys.modules.pop("kinds_mod", None)
    # init: any mapping (a flax FrozenDict); the library's key, and no mapping, each with its own message
    from flax.core import FrozenDict

    R.register_reward_kind(_linear_kind("frozen")._replace(init=lambda m, k: FrozenDict(w=jnp.zeros(5), b=0.0)))
    assert sorted(R.init(R.make_reward_model("frozen", obs_size=3, action_size=2), jax.random.PRNGKey(0)).net) == \
        ["b", "w"]
    R.register_reward_kind(_linear_kind("listy")._replace(init=lambda m, k: [jnp.zeros(5)]))
    with pytest.raises(ValueError, match="init: reward kind 'listy' must return a dict of parameter trees, got list"):
        R.init(R.make_reward_model("listy", obs_size=3, action_size=2), jax.random.PRNGKey(0))
    # a score-only kind trained by an objective whose reward type is not GAIL's: the message says why GAIL's forms
    with pytest.raises(ValueError, match="reward kind 'linear_logit' has no `learned` function, so its score is read "
                                         "as a discriminator logit"):
        R.default_which("default", "the run 'r'", "linear_logit")


def test_a_reward_kinds_outputs_must_be_one_float_per_sample(reward_kind_registry):
    """A ``(B, 1)`` score would broadcast against ``(B,)`` terms (AIRL's ``− log π``) into ``(B, B)``: refused while
    tracing, naming the kind and the shapes; so is a ``learned`` reward of another shape."""
    column = R.register_reward_kind(_linear_kind("column")._replace(
        score=lambda model, net, inputs, discount: (R.input_vector(model, inputs) @ net["w"])[..., None]))
    model = R.make_reward_model(column.name, obs_size=3, action_size=2)
    params = R.init(model, jax.random.PRNGKey(0))
    obs, act, nxt, term = _batch(jax.random.PRNGKey(1))
    with pytest.raises(ValueError, match=r"score: reward kind 'column' must return one float per sample, shape "
                                         r"\(7,\), got shape \(7, 1\)"):
        jax.jit(lambda p: R.score(model, p, R.encode(model, obs, act, nxt, term), 0.9))(params)
    with pytest.raises(ValueError, match=r"score: reward kind 'column' must return one float per sample, shape "
                                         r"\(2,\)"):
        R.check_kind(model)  # what make_train runs before anything compiles
    R.register_reward_kind(_linear_kind("integer")._replace(
        score=lambda model, net, inputs, discount: jnp.zeros(inputs.obs.shape[:-1], jnp.int32)))
    with pytest.raises(ValueError, match=r"score: reward kind 'integer' must return one float .* dtype int32"):
        R.check_kind(R.make_reward_model("integer", obs_size=3, action_size=2))
    R.register_reward_kind(_linear_kind("scalar_g", learned=lambda model, net, inputs, which, discount: net["b"],
                                        rewards=("g",)))
    model = R.make_reward_model("scalar_g", obs_size=3, action_size=2)
    with pytest.raises(ValueError, match=r"learned: reward kind 'scalar_g' must return one float per sample"):
        R.reward_fn(model, R.init(model, jax.random.PRNGKey(0)), discount=0.9)(obs, act)
    with pytest.raises(ValueError, match=r"learned: reward kind 'scalar_g' must return one float per sample"):
        R.check_kind(model)


def test_a_reward_kind_reads_both_observations_normalised_and_the_discount_given(reward_kind_registry):
    """``"ss"`` with ``normalize``: the kind's ``score`` receives ``s`` and ``s'`` through the model's normaliser,
    and the ``discount`` passed to :func:`score` as it is (an AIRL-like ``f`` reads it)."""
    R.register_reward_kind(R.RewardKind(
        name="gamma_ss", inputs=("ss",), init=lambda m, k: {"w": jax.random.normal(k, (R.input_width(m),))},
        score=lambda m, net, x, discount: R.input_vector(m, x) @ net["w"] + discount))
    model = R.make_reward_model("gamma_ss", obs_size=3, action_size=2, normalize=True)
    params = R.init(model, jax.random.PRNGKey(0))
    obs, act, nxt, term = _batch(jax.random.PRNGKey(1))
    params = R.update_norm(model, params, R.encode(model, obs * 3 + 1, act, nxt * 3 + 1))  # statistics ≠ identity
    x = jnp.concatenate([nets.normalize(params.norm, obs), nets.normalize(params.norm, nxt)], -1)
    np.testing.assert_allclose(R.score(model, params, R.encode(model, obs, act, nxt, term), 0.5),
                               x @ params.net["w"] + 0.5, rtol=1e-5)


def test_a_reward_kind_registered_again_by_other_code_and_its_records(reward_kind_registry):
    """The very same ``RewardKind`` registered again by other code (a module that imports and registers it) is
    fine; a kind's ``init`` may return any mapping, with an absorbing state too; ``inputs`` must be distinct,
    ``rewards`` names (strings)."""
    from flax.core import FrozenDict

    lin = R.register_reward_kind(R.RewardKind(
        name="frozen_lin", init=lambda m, k: FrozenDict(w=jnp.zeros((R.input_width(m),))),
        score=lambda m, net, x, d: R.input_vector(m, x) @ net["w"]))
    assert eval("R.register_reward_kind(lin)", {"R": R, "lin": lin, "__name__": "other_mod",  # noqa: S307
                                                "__file__": "other_mod.py"}) is lin
    params = R.init(R.make_reward_model("frozen_lin", obs_size=3, action_size=2, absorbing=True),
                    jax.random.PRNGKey(0))
    assert sorted(params.net) == ["absorbing", "w"]
    learned = lambda m, net, x, which, d: R.input_vector(m, x) @ net["w"]  # noqa: E731
    for bad, message in ((lin._replace(name="x", inputs=("sa", "sa")), "inputs: expected a non-empty tuple of distinct"),
                         (lin._replace(name="x", learned=learned, rewards=("r", 1)),
                          "rewards: expected a non-empty tuple of names"),
                         (lin._replace(name="x", learned=learned, rewards=("",)),
                          "rewards: expected a non-empty tuple of names")):
        with pytest.raises(ValueError, match=message):
            R.register_reward_kind(bad)


def test_a_saved_reward_kind_loads_through_the_runs_config_imports(reward_kind_registry, tmp_path, monkeypatch):
    """A run whose kind was registered by a script run as ``__main__`` (a script that lists itself in ``imports``):
    ``load_reward`` in a process that never registered it imports what the run's ``config.yaml`` lists."""
    import dataclasses
    import sys

    from jaxirl import io, load_reward

    _user_module(tmp_path, monkeypatch, "listed_kinds", _ARANGE_KIND.format(name="listed_linear"))
    import listed_kinds  # noqa: F401

    model = R.make_reward_model("listed_linear", obs_size=3, action_size=2)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("imports: [listed_kinds]\n")
    io.write_json(str(run / "reward_model.json"), {"model": dataclasses.asdict(model), "algorithm": "x",
                                                   "reward_type": "logit", "discount": 0.9,
                                                   "kind_module": "__main__", "kind_file": "/x/train_mine.py"})
    io.save_pytree(str(run / "reward.msgpack"), R.init(model, jax.random.PRNGKey(0)))
    del reward_kind_registry["listed_linear"], sys.modules["listed_kinds"]
    obs, act, _, _ = _batch(jax.random.PRNGKey(1))
    np.testing.assert_allclose(load_reward(str(run))(obs, act), jnp.concatenate([obs, act], -1) @ jnp.arange(5.0),
                               rtol=1e-5)


def test_a_failed_import_undoes_the_origin_of_what_it_replaced(reward_kind_registry, tmp_path, monkeypatch):
    """``import_modules`` undoes what a module that raised had registered; the record of who registered a name goes
    back with it, or the kind that is back would be attributed to the failed module (its reload refused, a saved
    run's ``kind_module`` pointing at the failed module)."""

    from jaxirl import plugins

    other = {"R": R, "jnp": jnp, "__name__": "b_module", "__file__": "/x/b_module.py"}
    exec("kb = R.register_reward_kind(R.RewardKind('shared_k', lambda m, k: {'w': jnp.zeros(5)}, "  # noqa: S102
         "lambda m, n, x, d: R.input_vector(m, x) @ n['w']))", other)
    _user_module(tmp_path, monkeypatch, "half_done", (
        "from jaxirl import reward as R\n"
        "R.register_reward_kind(R.RewardKind('shared_k', lambda m, k: {}, lambda m, n, x, d: x.obs[..., 0]), "
        "replace=True)\nraise RuntimeError('boom')\n"))
    with pytest.raises(ValueError, match="importing 'half_done' failed"):
        plugins.import_modules(["half_done"])
    assert reward_kind_registry["shared_k"] is other["kb"]
    assert R.kind_origin("shared_k") == ("b_module", "/x/b_module.py")
