"""Config loading: defaults <- YAML <- overrides, unknown keys, type checks, struct building."""

import dataclasses

import pytest
import yaml
from flax import struct

from jaxirl.config import dump_yaml, load_config, parse_overrides, struct_defaults, to_struct

DEFAULTS = {
    "env": {"name": "pointmass", "num_envs": 8, "backend": None, "kwargs": {}},
    "ppo": {"learning_rate": 3e-4, "hidden": [64, 64], "normalize_obs": True},
    "run": {"seed": 0, "root": "runs"},
}


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return str(path)


def test_merge_order_defaults_file_overrides(tmp_path):
    path = write(tmp_path, "env:\n  num_envs: 16\nppo:\n  learning_rate: 1e-3\n")
    cfg = load_config(path, ["env.num_envs=32", "run.seed=5", "ppo.hidden=[32, 16]"], DEFAULTS)
    assert cfg["env"]["num_envs"] == 32                # override beats file
    assert cfg["ppo"]["learning_rate"] == 1e-3          # YAML 1.1 reads 1e-3 as a string; converted
    assert isinstance(cfg["ppo"]["learning_rate"], float)
    assert cfg["ppo"]["hidden"] == [32, 16]
    assert cfg["ppo"]["normalize_obs"] is True          # untouched default
    assert cfg["run"] == {"seed": 5, "root": "runs"}
    assert DEFAULTS["env"]["num_envs"] == 8             # defaults not mutated


def test_int_accepted_for_float_and_none_default_accepts_anything(tmp_path):
    cfg = load_config(None, ["ppo.learning_rate=1", "env.backend=spring"], DEFAULTS)
    assert cfg["ppo"]["learning_rate"] == 1.0 and isinstance(cfg["ppo"]["learning_rate"], float)
    assert cfg["env"]["backend"] == "spring"
    assert load_config(None, ["env.backend="], DEFAULTS)["env"]["backend"] is None
    # a nullable key that a file sets can be set back to null by an override (not typed by the file's value)
    path = write(tmp_path, "env:\n  backend: spring\n")
    assert load_config(path, ["env.backend=null"], DEFAULTS)["env"]["backend"] is None
    with pytest.raises(ValueError, match="config key 'env.num_envs': expected int, got null"):
        load_config(path, ["env.num_envs=null"], DEFAULTS)


def test_nullable_key_is_not_typed_by_the_files_value(tmp_path):
    """A key whose default is null takes any value whatever the file set it to; over a mapping, a mapping merges key
    by key, ``{}`` empties it and null clears it (``eval.env_kwargs``, ``demos.expert_return``)."""
    defaults = {"demos": {"expert_return": None}, "eval": {"env_kwargs": None, "num_envs": 2}}
    path = write(tmp_path, "demos: {expert_return: 100}\neval: {env_kwargs: {dt: 0.1}}\n")
    assert load_config(path, ["demos.expert_return=95.5"], defaults)["demos"]["expert_return"] == 95.5
    assert load_config(path, ["demos.expert_return=1e2"], defaults)["demos"]["expert_return"] == 100.0
    assert load_config(path, ["eval.env_kwargs={}"], defaults)["eval"]["env_kwargs"] == {}
    assert load_config(path, ["eval.env_kwargs=null"], defaults)["eval"]["env_kwargs"] is None
    assert load_config(path, ["eval.env_kwargs.max_speed=3.0"], defaults)["eval"]["env_kwargs"] == \
        {"dt": 0.1, "max_speed": 3.0}
    assert load_config(path, [], defaults)["eval"]["env_kwargs"] == {"dt": 0.1}


def test_yaml_reads_exponents_as_numbers_and_refuses_a_key_given_twice(tmp_path):
    """YAML 1.1 (PyYAML) reads ``1e-3`` as a string and keeps the last of two equal keys silently."""
    from jaxirl.config import finite_number, load_yaml

    assert load_yaml("a: 1e-3\nb: -2E5\nc: '1e-3'\nd: 1.5e-3\ne: e5\n") == \
        {"a": 1e-3, "b": -2e5, "c": "1e-3", "d": 1.5e-3, "e": "e5"}
    assert load_config(None, ["env.kwargs.dt=1e-3"], DEFAULTS)["env"]["kwargs"] == {"dt": 1e-3}
    path = write(tmp_path, "ppo:\n  learning_rate: 0.1\nppo:\n  num_steps: 8\n")
    with pytest.raises(ValueError, match=r"not valid YAML: found the key 'ppo' twice \(line 3, column 1\)$"):
        load_config(path, [], DEFAULTS)
    with pytest.raises(ValueError, match=r"cannot parse value '\[1': .*\(line 1, column 3\)$"):
        load_config(None, ["ppo.hidden=[1"], DEFAULTS)
    binary = tmp_path / "demos.npz"
    binary.write_bytes(b"PK\x03\x04\x9d\xff\x00")
    with pytest.raises(ValueError, match="demos.npz' is not a YAML text file"):
        load_config(str(binary), [], DEFAULTS)
    # merge keys still work; a string that reads as a number is quoted when a run folder's config.yaml is written
    assert load_yaml("a: &kw {dt: 0.1, m: 2.0}\nb: {<<: *kw, m: 3.0}\n")["b"] == {"dt": 0.1, "m": 3.0}
    config = {"run": {"prefix": "1e5", "x": 1e-5, "y": ["2E3", 1.5e-3]}}
    assert load_yaml(dump_yaml(config)) == config
    from jaxirl import io

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("run: {a: 1, a: 2}\n")
    with pytest.raises(ValueError, match=r"is not valid YAML: found the key 'a' twice \(line 1, column 13\)$"):
        io.read_config(str(tmp_path / "run"))
    huge = "1" + "0" * 400  # beyond a float: a clear error, not OverflowError
    with pytest.raises(ValueError, match="'ppo.learning_rate': .* is beyond the range of a float"):
        load_config(None, [f"ppo.learning_rate={huge}"], DEFAULTS)
    assert not finite_number(int(huge)) and finite_number(3) and not finite_number(True)


def test_free_form_section_accepts_any_keys():
    cfg = load_config(None, ["env.kwargs.dt=0.05", "env.kwargs.arena=2"], DEFAULTS)
    assert cfg["env"]["kwargs"] == {"dt": 0.05, "arena": 2}


def test_free_form_mapping_from_a_file_can_be_extended_or_emptied_by_overrides(tmp_path):
    """A file's free-form mapping (``env.kwargs``, a sweep): ``key.sub=v`` adds or replaces one entry, ``key={}``
    empties it; a fixed section is never emptied by ``{}`` (nothing changes)."""
    path = write(tmp_path, "env:\n  kwargs: {dt: 0.05}\n")
    assert load_config(path, ["env.kwargs.arena=2"], DEFAULTS)["env"]["kwargs"] == {"dt": 0.05, "arena": 2}
    assert load_config(path, ["env.kwargs.dt=0.1"], DEFAULTS)["env"]["kwargs"] == {"dt": 0.1}
    assert load_config(path, ["env.kwargs={}"], DEFAULTS)["env"]["kwargs"] == {}
    assert load_config(path, [], DEFAULTS)["env"]["kwargs"] == {"dt": 0.05}
    assert load_config(path, ["ppo={}"], DEFAULTS)["ppo"] == DEFAULTS["ppo"]


@pytest.mark.parametrize("override, words", [
    (["ppo.lr=1"], ["ppo.lr", "hidden", "learning_rate", "normalize_obs"]),
    (["bogus=1"], ["bogus", "env", "ppo", "run"]),
    (["env.name.x=1"], ["env.name"]),
])
def test_unknown_keys_list_valid_ones(override, words):
    with pytest.raises(ValueError) as err:
        load_config(None, override, DEFAULTS)
    for w in words:
        assert w in str(err.value)


def test_unknown_key_in_file(tmp_path):
    path = write(tmp_path, "run:\n  sed: 1\n")
    with pytest.raises(ValueError, match=r"run\.sed.*valid keys: root, seed"):
        load_config(path, [], DEFAULTS)


@pytest.mark.parametrize("override, key, expected", [
    ("env.num_envs=2.5", "env.num_envs", "int"),
    ("env.num_envs=true", "env.num_envs", "int"),
    ("ppo.learning_rate=fast", "ppo.learning_rate", "float"),
    ("ppo.learning_rate=true", "ppo.learning_rate", "float"),
    ("ppo.normalize_obs=1", "ppo.normalize_obs", "bool"),
    ("ppo.hidden=64", "ppo.hidden", "list"),
    ("env.name=3", "env.name", "str"),
    ("env=3", "env", "mapping"),
    ("run.seed=", "run.seed", "int"),
])
def test_type_mismatch_names_key_and_type(override, key, expected):
    with pytest.raises(ValueError) as err:
        load_config(None, [override], DEFAULTS)
    assert key in str(err.value) and expected in str(err.value)


def test_bad_override_syntax_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["ppo.learning_rate"])
    with pytest.raises(ValueError, match="empty key"):
        parse_overrides(["ppo..x=1"])
    with pytest.raises(ValueError, match="not found"):
        load_config(str(tmp_path / "missing.yaml"), [], DEFAULTS)
    with pytest.raises(ValueError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"), [], DEFAULTS)
    with pytest.raises(ValueError, match="not valid YAML"):
        load_config(write(tmp_path, "a: [1,\n"), [], DEFAULTS)
    assert parse_overrides(["a.b=1", "a.c=[1, 2]", "d=x"]) == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}


@struct.dataclass
class Cfg:
    learning_rate: float = 1e-3
    hidden: tuple = struct.field(pytree_node=False, default=(8, 8))
    steps: int = struct.field(pytree_node=False, default=4)

    def validate(self):
        if self.steps < 1:
            raise ValueError(f"steps: expected a positive int, got {self.steps}")


def test_to_struct_builds_validates_and_rejects():
    cfg = to_struct(Cfg, {"learning_rate": 1, "hidden": [4, 2]})
    assert cfg == Cfg(learning_rate=1.0, hidden=(4, 2), steps=4)
    assert isinstance(cfg.hidden, tuple) and isinstance(cfg.learning_rate, float)
    hash(cfg.hidden)  # static fields must be hashable
    with pytest.raises(ValueError, match=r"unknown key 'ppo.lr'.*hidden, learning_rate, steps"):
        to_struct(Cfg, {"lr": 1.0}, name="ppo")
    with pytest.raises(ValueError, match="Cfg.steps.: expected int"):
        to_struct(Cfg, {"steps": 1.5})
    with pytest.raises(ValueError, match="steps: expected a positive int"):
        to_struct(Cfg, {"steps": 0})


def test_struct_defaults_round_trip_through_yaml(tmp_path):
    defaults = {"ppo": struct_defaults(Cfg)}
    assert defaults["ppo"] == {"learning_rate": 1e-3, "hidden": [8, 8], "steps": 4}
    text = dump_yaml({"ppo": dataclasses.asdict(Cfg(hidden=(3,)))})
    path = write(tmp_path, text)
    cfg = load_config(path, [], defaults)
    assert to_struct(Cfg, cfg["ppo"]) == Cfg(hidden=(3,))
    assert yaml.safe_load(text)["ppo"]["hidden"] == [3]
