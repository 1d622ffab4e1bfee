"""YAML run configurations: nested sections, dotted ``key=value`` overrides, strict validation.

A configuration is a nested mapping of *sections* (``env``, ``ppo``, ``run``, ...).  Every job declares
its ``defaults`` as a nested dict; :func:`load_config` merges, in order,

    defaults  <-  the YAML file  <-  ``key=value`` command-line overrides

and rejects anything the defaults do not know:

* an unknown key at any level raises ``ValueError`` listing the valid keys of that section;
* a value whose type differs from the default's raises ``ValueError`` naming the dotted key and the
  expected type.  An ``int`` is accepted where a ``float`` is expected (and converted); a string that
  parses as a number is accepted for a ``float`` default, because YAML 1.1 reads ``1e-3`` (no dot) as a
  string; ``bool`` is never accepted as a number; lists and tuples are interchangeable (converted to the
  default's type).
* a default of ``None`` accepts any value (optional settings such as ``resume`` or ``backend``); a default
  of ``{}`` (an empty mapping) is a free-form section whose keys are not checked (e.g. ``env.kwargs``).

Files and the values of overrides are parsed with :func:`load_yaml` (``yaml.safe_load`` that also reads ``1e-3`` as
a number, as YAML 1.2 does, and refuses a key given twice in one mapping), so ``ppo.hidden=[32,32]``,
``env.backend=null``, ``env.kwargs.dt=1e-3`` and ``run.seed=3`` all mean what they look like. A key whose default is
null takes any value, whatever the file set it to (``demos.expert_return=95.5`` over a file's ``100``); over a
mapping a mapping merges key by key and ``{}`` empties it (``eval.env_kwargs``).  :func:`to_struct` turns a section
into a flax struct dataclass config (its fields are the valid keys) and calls its ``validate()`` method when it has
one.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import os
import re
from typing import Any, Mapping, Sequence

import yaml

__all__ = ["load_config", "load_yaml", "load_yaml_file", "yaml_error", "merge", "parse_overrides", "to_struct", "struct_defaults",
           "dump_yaml", "coerce", "finite_number", "check_seed", "check_folder", "prefix_field", "rename_field"]


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``1e-3`` / ``2E5`` (an exponent without a dot, a string in YAML 1.1) as a float
    and refuses a mapping that gives one key twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` (merged by the base class)
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class raises its own error
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` that quotes a string :class:`_Loader` would read as a number (``'1e5'``)."""


_EXPONENT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
for _cls in (_Loader, _Dumper):
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT, list("-+0123456789"))


def yaml_error(err: yaml.YAMLError) -> str:
    """One line for a YAML error: its problem and where (PyYAML's own message spans several lines)."""
    problem, mark = getattr(err, "problem", None), getattr(err, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(err).split())


def load_yaml(stream: Any) -> Any:
    """``yaml.safe_load`` with the two differences of :class:`_Loader` (exponents as floats, no duplicate keys)."""
    return yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load_yaml_file(path: str | os.PathLike, label: str) -> Any:
    """:func:`load_yaml` of a file; ``ValueError`` starting with ``label`` where it is not YAML text."""
    with open(path, encoding="utf-8") as f:
        try:
            return load_yaml(f)
        except yaml.YAMLError as err:
            raise ValueError(f"{label} is not valid YAML: {yaml_error(err)}") from None
        except UnicodeDecodeError:
            raise ValueError(f"{label} is not a YAML text file (not UTF-8)") from None


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float (int also accepted)"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    return type(value).__name__


def coerce(key: str, default: Any, value: Any) -> Any:
    """Return ``value`` converted to the type of ``default``, or raise ValueError naming ``key``."""
    if default is None:
        return value
    if value is None:
        raise ValueError(f"config key '{key}': expected {_type_name(default)}, got null")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an int beyond float's range
                raise ValueError(f"config key '{key}': {value!r} is beyond the range of a float") from None
            except ValueError:  # a string that is no number
                pass
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, (list, tuple)):
        if isinstance(value, (list, tuple)):
            return type(default)(value)
    elif isinstance(default, Mapping):
        if isinstance(value, Mapping):
            return value
    else:  # unusual default types: accept the same type only
        if isinstance(value, type(default)):
            return value
    raise ValueError(
        f"config key '{key}': expected {_type_name(default)}, got {type(value).__name__} {value!r}"
    )


def merge(defaults: Mapping, updates: Mapping, prefix: str = "", schema: Mapping | None = None) -> dict:
    """Recursively merge ``updates`` into a deep copy of ``defaults`` with key and type checking.

    ``schema`` (default: ``defaults``) is the pristine defaults, when ``defaults`` already holds a file's values:
    where the schema has a free-form mapping (an empty default, e.g. ``train.sweep``, ``env.kwargs``), an empty
    mapping in ``updates`` clears it (``train.sweep={}``), a non-empty one merges key by key."""
    schema = defaults if schema is None else schema
    out = copy.deepcopy(dict(defaults))
    if not isinstance(updates, Mapping):
        where = f"section '{prefix[:-1]}'" if prefix else "the configuration"
        raise ValueError(f"{where} must be a mapping, got {type(updates).__name__} {updates!r}")
    free_form = prefix != "" and isinstance(schema, Mapping) and len(schema) == 0
    for key, value in updates.items():
        if not isinstance(key, str):
            raise ValueError(f"config keys must be strings, got {key!r} in section '{prefix[:-1]}'")
        dotted = prefix + key
        if free_form:
            out[key] = copy.deepcopy(value)
            continue
        if key not in out:
            where = f"section '{prefix[:-1]}'" if prefix else "top level"
            valid = ", ".join(sorted(out)) or "(none)"
            raise ValueError(f"unknown config key '{dotted}' at {where}; valid keys: {valid}")
        default = out[key]
        sub_schema = schema.get(key) if isinstance(schema, Mapping) else None
        if isinstance(value, Mapping) and not value and isinstance(sub_schema, Mapping) and not sub_schema:
            out[key] = {}  # `key={}` empties a free-form mapping
            continue
        if isinstance(schema, Mapping) and key in schema and schema[key] is None:
            # a nullable key takes any value (checked where it is used), whatever type a file gave it; a non-empty
            # mapping over a mapping merges key by key, like a free-form section
            merged = isinstance(value, Mapping) and value and isinstance(default, Mapping)
            out[key] = {**default, **copy.deepcopy(dict(value))} if merged else copy.deepcopy(value)
            continue
        if isinstance(default, Mapping) and default and value is not None:
            if not isinstance(value, Mapping):
                raise ValueError(
                    f"config key '{dotted}' is a section: expected a mapping with keys "
                    f"{', '.join(sorted(default))}, got {value!r}"
                )
            out[key] = merge(default, value, dotted + ".", sub_schema if isinstance(sub_schema, Mapping) else {})
        else:
            out[key] = coerce(dotted, default, value)
    return out


def parse_overrides(overrides: Sequence[str]) -> dict:
    """Turn ``["a.b=1", "c=x"]`` into the nested mapping ``{"a": {"b": 1}, "c": "x"}``."""
    nested: dict = {}
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"override {item!r} must have the form key=value (e.g. ppo.learning_rate=1e-3)")
        key, text = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if not key or any(not p for p in parts):
            raise ValueError(f"override {item!r}: empty key (expected dotted.key=value)")
        try:
            value = load_yaml(text) if text.strip() else None
        except yaml.YAMLError as err:
            raise ValueError(f"override {item!r}: cannot parse value {text!r}: {yaml_error(err)}") from None
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r} conflicts with an earlier override of '{part}'")
        node[parts[-1]] = value
    return nested


def load_config(path: str | os.PathLike | None, overrides: Sequence[str] = (), defaults: Mapping | None = None) -> dict:
    """Load a YAML config, merged as ``defaults <- file <- overrides``; see the module docstring.

    Args:
      path: YAML file (a mapping of sections), or None to start from the defaults alone.
      overrides: ``dotted.key=value`` strings; values parsed with :func:`load_yaml`.
      defaults: nested dict of default values; its keys are the only valid keys.
    Returns:
      The merged nested dict (a fresh copy; defaults are not modified).
    Raises:
      ValueError: missing/unreadable file, YAML that is not a mapping, unknown keys, wrong types.
    """
    defaults = {} if defaults is None else defaults
    config = copy.deepcopy(dict(defaults))
    if path is not None:
        if os.path.isdir(path):
            hint = " (a run folder's configuration is RUN_DIR/config.yaml)" if os.path.isfile(
                os.path.join(path, "config.yaml")) else ""
            raise ValueError(f"{os.fspath(path)!r} is a folder, not a YAML config file{hint}")
        if not os.path.isfile(path):
            raise ValueError(f"config file not found: {os.fspath(path)!r}")
        loaded = load_yaml_file(path, f"config file {os.fspath(path)!r}")
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise ValueError(f"config file {os.fspath(path)!r} must hold a mapping of sections, got {type(loaded).__name__}")
        config = merge(config, loaded)
    if overrides:
        config = merge(config, parse_overrides(overrides), schema=defaults)
    return config


def _field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def struct_defaults(cls) -> dict:
    """The default values of a (flax struct) dataclass as a plain dict (tuples become lists for YAML)."""
    out = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        value = _field_default(field)
        if value is dataclasses.MISSING:
            value = None
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out


def _freeze(value: Any) -> Any:
    """Lists become tuples (recursively) so static struct fields stay hashable."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def to_struct(cls, section: Mapping | None, name: str | None = None):
    """Build the dataclass ``cls`` (e.g. a flax struct config) from a config section.

    The valid keys are the dataclass's init fields.  Unknown keys raise ``ValueError`` listing the valid
    ones; values are checked against the field default's type (as in :func:`load_config`); lists are
    turned into tuples.  If the instance has a ``validate()`` method it is called (it raises ValueError on
    bad values).
    """
    name = name or cls.__name__
    section = {} if section is None else section
    if not isinstance(section, Mapping):
        raise ValueError(f"section '{name}' must be a mapping, got {type(section).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in section.items():
        if key not in fields:
            raise ValueError(f"unknown key '{name}.{key}' for {cls.__name__}; valid keys: {', '.join(sorted(fields))}")
        default = _field_default(fields[key])
        if default is not dataclasses.MISSING and default is not None:
            value = coerce(f"{name}.{key}", default, value)
        kwargs[key] = _freeze(value)
    missing = [k for k, f in fields.items() if k not in kwargs and _field_default(f) is dataclasses.MISSING]
    if missing:
        raise ValueError(f"section '{name}' is missing required key(s): {', '.join(missing)}")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ValueError as err:
            raise ValueError(prefix_field(name, err)) from None
    return obj


def finite_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number: a Python or numpy int or float, not a bool."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        return False


def check_seed(name: str, value: Any) -> int:
    """A PRNG seed: an int that ``jax.random.PRNGKey`` takes (``−2**63 ≤ seed < 2**63``), else ``ValueError``.
    (Without x64, ``PRNGKey`` keeps the low 32 bits: seeds that differ by a multiple of 2**32 give the same key.)"""
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise ValueError(f"{name}: expected an int seed in [-2**63, 2**63), got {value!r}")
    return value


def check_folder(name: str, folder: Any) -> str:
    """``folder`` can hold files: its nearest existing ancestor (or itself) is a folder, not a file — checked
    before any compiling or training, so that writing the results cannot fail at the end."""
    if not isinstance(folder, str) or not folder:
        raise ValueError(f"{name}: expected a folder path, got {folder!r}")
    here = os.path.abspath(folder)
    while not os.path.exists(here):
        here = os.path.dirname(here)
    if not os.path.isdir(here):
        raise ValueError(f"{name}: {here!r} is a file, so the folder {folder!r} cannot be made")
    return folder


def rename_field(err: Exception | str, old: str, new: str) -> str:
    """The message of ``err`` with the field name it starts with, ``old``, replaced by ``new`` (a job's own name for
    a field of a function it calls, e.g. ``which`` → ``train.reward_which``); other messages unchanged."""
    msg = str(err)
    return new + msg[len(old):] if msg.startswith(old + ":") else msg


def prefix_field(section: str, err: Exception | str) -> str:
    """The message of ``err`` with ``section.`` before the field name it starts with (``"num_steps: expected …"``
    → ``"ppo.num_steps: expected …"``), so a field that several sections share is named unambiguously; a message
    that already names a dotted field, or does not start with ``field:``, is returned as it is."""
    msg = str(err)
    head = msg.split(" ", 1)[0]
    if not head.endswith(":") or "." in head or head.startswith(f"{section}."):
        return msg
    return f"{section}.{msg}"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    return value


def dump_yaml(config: Mapping) -> str:
    """YAML text of a nested config (tuples written as lists, numpy scalars as Python numbers)."""
    return yaml.dump(_plain(config), Dumper=_Dumper, sort_keys=False, default_flow_style=None)
