"""Environments and objectives of one's own for the `jaxirl` command: a config's `imports`, `register_env`, and
the messages a user gets when a module or constructor of theirs goes wrong (no training compiled: about a second)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jaxirl import plugins

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.fixture
def user_dir(tmp_path, monkeypatch, env_registry, objective_registry, reward_kind_registry):
    """A folder on sys.path for the test's own modules; registries, imported modules and `imports` records as they
    were after the test."""
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.setattr(plugins, "_IMPORTED", {})
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("user_"):
            del sys.modules[name]


def _obs_env_module(name: str, obs: str) -> str:
    return textwrap.dedent(f'''
        import jax, jax.numpy as jnp
        from jaxirl.envs import BaseState, register_env

        class Reach1D:
            action_size = 1   # no observation_size: VecEnv reads the size from the observations
            def reset(self, key):
                x, g = jax.random.uniform(key, (2,), jnp.float32, -1, 1)
                z = jnp.zeros((), jnp.float32)
                return BaseState(pipeline_state=None, obs={obs}, reward=z, done=z)
            def step(self, state, action):
                return state

        register_env({name!r}, Reach1D)
    ''')


def test_demos_check_env_imports_the_module_of_the_metadatas_env(user_dir):
    """`jaxirl demos FILE check_env=true imports=[...]` checks a file recorded on an env of one's own."""
    (user_dir / "user_pm.py").write_text("from jaxirl.envs import PointMass, register_env\n"
                                         "register_env('user_pm', PointMass)\n")
    src = np.load(os.path.join(ROOT, "demos", "pointmass.npz"))
    arrays = {k: src[k] for k in src.files}
    meta = json.loads(str(arrays["metadata"]))
    arrays["metadata"] = np.array(json.dumps({**meta, "env": "user_pm"}))
    path = str(user_dir / "demos.npz")
    np.savez(path, **arrays)
    from jaxirl.jobs import demos

    with open(os.devnull, "w") as sink:
        with pytest.raises(ValueError, match="metadata env: unknown environment 'user_pm'"):
            demos.main(path, ["check_env=true"], stream=sink)
        summary = demos.main(path, ["check_env=true", "episodes=false", "imports=[user_pm]"], stream=sink)
    assert summary["env_check"].startswith("matches user_pm")


def test_a_constructors_own_error_passes_through_and_argument_errors_are_named(user_dir):
    """A bug inside a registered constructor keeps its own exception (and traceback), not blamed on env.kwargs;
    arguments it does not take, or a backend it does not take, are named as such."""
    from jaxirl.envs import PointMass, make, register_env

    def buggy(**kw):
        return None + 1  # the user's bug

    def buggy_call(speed=1.0):
        def helper(a):
            return a
        return helper(a=1, b=2)  # the user's bug, of the "unexpected keyword argument" kind

    register_env("user_buggy", buggy)
    register_env("user_buggy_call", buggy_call)
    register_env("user_forwards", lambda **kw: PointMass(**kw))  # the README's shape: **kwargs passed on
    with pytest.raises(TypeError, match="NoneType"):
        make("user_buggy", 2, episode_length=5)
    with pytest.raises(TypeError, match="helper.. got an unexpected keyword argument 'b'"):
        make("user_buggy_call", 2, episode_length=5, speed=2.0)
    with pytest.raises(ValueError, match=r"^backend: the constructor registered as 'user_forwards' takes no backend="):
        make("user_forwards", 2, episode_length=5, backend="spring")
    with pytest.raises(ValueError, match=r"^env_kwargs: 'user_forwards' does not take 'speed'"):
        make("user_forwards", 2, episode_length=5, speed=1.0)
    register_env("user_plain", PointMass)
    with pytest.raises(ValueError, match=r"^backend: the constructor registered as 'user_plain' takes no backend="):
        make("user_plain", 2, episode_length=5, backend="spring")
    with pytest.raises(ValueError, match=r"^env_kwargs: 'user_plain' does not take \['speed'\]"):
        make("user_plain", 2, episode_length=5, speed=1.0)
    with pytest.raises(ValueError, match=r"^dt: expected a finite positive number"):  # its own check of a value
        make("user_plain", 2, episode_length=5, dt=-1.0)
    from jaxirl.jobs.evaluate import make_env

    section = {"name": "user_plain", "num_envs": 2, "episode_length": 5, "backend": "spring", "kwargs": {}}
    with pytest.raises(ValueError, match=r"^env\.backend: the constructor"):
        make_env(section)


def test_import_failure_says_where_and_a_script_may_list_itself(user_dir):
    """An error raised while a listed module is imported names the file and line; a script that registers and
    then runs the command with itself in `imports` is not run a second time (its registrations would clash)."""
    (user_dir / "user_broken.py").write_text("x = 1\ny = {}['missing']\n")
    (user_dir / "user_json.py").write_text("import json\nfrom jaxirl.envs import PointMass, register_env\n"
                                           "register_env('user_half', PointMass)\nCFG = json.loads('{bad')\n")
    with pytest.raises(ValueError) as info:
        plugins.import_modules(["user_broken"])
    msg = str(info.value)
    assert msg.startswith("imports: importing 'user_broken' failed at ") and "user_broken.py, line 2: KeyError" in msg
    assert "JAXIRL_DEBUG=1" in msg
    with pytest.raises(ValueError, match=r"user_json.py, line 4: JSONDecodeError"):  # not the json module's line
        plugins.import_modules(["user_json"])
    from jaxirl.envs import env_names

    assert "user_half" not in env_names()  # what the failed module registered is undone
    script = user_dir / "user_script.py"
    script.write_text(textwrap.dedent('''
        from jaxirl.envs import PointMass, register_env
        register_env("user_slow", lambda **kw: PointMass(**{"max_speed": 0.5, **kw}))
        if __name__ == "__main__":
            from jaxirl.plugins import import_modules
            import_modules(["user_script"])   # what `imports: [user_script]` does inside jaxirl.cli.main
            print("ok")
    '''))
    env = {**os.environ, "PYTHONPATH": os.path.abspath(ROOT), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, str(script)], cwd=user_dir, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-800:]


def test_env_messages_after_imports(user_dir):
    """What VecEnv finds wrong with an env's observations names the env, not a made-up config key; a name still
    unknown after `imports` says what those modules registered."""
    from jaxirl.jobs.evaluate import make_env

    (user_dir / "user_obs2d.py").write_text(_obs_env_module("user_obs2d", "jnp.stack([x, z, g])[:, None]"))
    (user_dir / "user_nothing.py").write_text("import jax  # forgot register_env\n")
    (user_dir / "user_flat.py").write_text(_obs_env_module("user_flat", "jnp.stack([x, z, g])"))
    plugins.import_modules(["user_obs2d", "user_nothing", "user_flat"])
    section = {"num_envs": 2, "episode_length": 5, "backend": None, "kwargs": {}}
    with pytest.raises(ValueError, match=r"^env 'user_obs2d' \(env\.name\): expected a flat observation vector"):
        make_env({**section, "name": "user_obs2d"})
    with pytest.raises(ValueError) as info:
        make_env({**section, "name": "user_nothing"})
    msg = str(info.value)
    assert "the environments registered by the modules of `imports`: user_obs2d (" in msg
    assert f"user_nothing ({user_dir / 'user_nothing.py'}): none; user_flat (" in msg
    assert "(register it there: jaxirl.envs.register_env('user_nothing', constructor))" in msg, msg
    assert make_env({**section, "name": "user_flat"}).observation_size == 3  # observation_size is not required
    from jaxirl.objectives import get_objective

    with pytest.raises(ValueError, match="the objectives registered by the modules of `imports`: user_obs2d .*: none"):
        get_objective("user_lsgan")


def test_more_plugin_edges(user_dir, monkeypatch):
    """(From a mutation audit.) A forwarding constructor's own keyword typo keeps its TypeError; a constructor that
    returns no `step` is named; `jaxirl demos` refuses `imports` it would not use; an import failure names the
    innermost line of the module, also when jaxirl runs from the module's own folder (importlib's frozen frames
    are no file of it)."""
    from jaxirl.envs import PointMass, make, register_env

    def forwards(**kw):
        return PointMass(**kw, max_sped=0.5)  # the user's typo, not an argument make() passed

    class NoStep:
        action_size = 1

        def reset(self, key):
            raise AssertionError("not reached")

    register_env("user_forwards_typo", forwards)
    register_env("user_nostep", NoStep)
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_sped'"):
        make("user_forwards_typo", 2, episode_length=5, arena=2.0)
    with pytest.raises(ValueError, match="returned NoStep, which has no 'step'"):
        make("user_nostep", 2, episode_length=5)
    from jaxirl.jobs import demos

    with open(os.devnull, "w") as sink:
        with pytest.raises(ValueError, match=r"^imports: only used with check_env=true"):
            demos.main(os.path.join(ROOT, "demos", "pointmass.npz"), ["imports=[json]"], stream=sink)
    (user_dir / "user_nested.py").write_text("def load():\n    return {}['missing']\n\n\nTABLE = load()\n")
    (user_dir / "user_dyn.py").write_text("import importlib\nimportlib.import_module('user_no_such_dependency')\n")
    with pytest.raises(ValueError, match=r"user_nested.py, line 2: KeyError"):
        plugins.import_modules(["user_nested"])
    monkeypatch.chdir(user_dir)
    with pytest.raises(ValueError, match=r"user_dyn.py, line 2: ModuleNotFoundError"):
        plugins.import_modules(["user_dyn"])


KIND = """
import jax.numpy as jnp
from jaxirl import reward
{pre}

def init(model, key):
    return {{"w": jnp.zeros((reward.input_width(model),))}}

def score(model, net, inputs, discount):
    return reward.input_vector(model, inputs) @ net["w"]

{register}
{post}
"""


def test_who_registered_a_reward_kind_and_what_a_failed_module_leaves(user_dir, reward_kind_registry):
    """The registrant recorded for a kind (and so `kind_module` of a saved reward) is the module being imported, also
    when it registers through a helper function of another module; a module that fails after registering — here
    replacing another's kind — leaves the registry and the record of registrants as they were; other code taking a
    registered name is told who registered it."""
    from jaxirl import reward

    (user_dir / "user_helpers.py").write_text("from jaxirl import reward\n"
                                              "def register_all(kind):\n    reward.register_reward_kind(kind)\n")
    (user_dir / "user_kinds.py").write_text(KIND.format(pre="import user_helpers", post="", register=(
        "user_helpers.register_all(reward.RewardKind('shared_k', init, score))")))
    (user_dir / "user_bad.py").write_text(KIND.format(pre="", register=(
        "reward.register_reward_kind(reward.RewardKind('shared_k', init, score), replace=True)"),
        post="raise RuntimeError('broken after registering')"))
    (user_dir / "user_other.py").write_text(KIND.format(pre="", post="", register=(
        "reward.register_reward_kind(reward.RewardKind('shared_k', init, score))")))
    plugins.import_modules(["user_kinds"])
    module, file = reward.kind_origin("shared_k")
    assert module == "user_kinds" and file.endswith("user_kinds.py")  # not user_helpers, whose function registered
    kept = reward_kind_registry["shared_k"]
    with pytest.raises(ValueError, match="importing 'user_bad' failed at .*user_bad.py, line 13: RuntimeError"):
        plugins.import_modules(["user_bad"])
    assert reward_kind_registry["shared_k"] is kept and reward.kind_origin("shared_k")[0] == "user_kinds"
    with pytest.raises(ValueError, match=r"importing 'user_other' failed .*'shared_k' is already a reward kind "
                                         r"\(registered by user_kinds at .*user_kinds.py\)"):
        plugins.import_modules(["user_other"])
    assert reward.kind_origin("shared_k")[0] == "user_kinds"
