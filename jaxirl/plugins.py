"""Modules of one's own for the ``jaxirl`` command: a config's top-level ``imports`` list.

Such a module registers environments (:func:`jaxirl.envs.register_env`), objectives
(:func:`jaxirl.objectives.register_objective`) and the reward networks they train
(:func:`jaxirl.reward.register_reward_kind`) when it is imported, so that their names are valid ``env.name`` /
``train.algorithm`` values of the ``expert``, ``train`` and ``bc`` jobs; ``jaxirl eval`` (and a resume) import what a
run's ``config.yaml`` lists, ``jaxirl demos FILE check_env=true imports=[...]`` what a file's env needs.

Importing is a process-wide act (``sys.modules``, the registries): this module keeps a record of what each module
it imported registered, only to say so when a name is still unknown.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import sysconfig
from typing import Any

__all__ = ["import_modules", "imported_registrations"]

# module -> {"environments": [...], "objectives": [...], "reward kinds": [...], "file": path} of the modules
# import_modules imported
_IMPORTED: dict = {}


def _registries():
    from jaxirl.envs.registry import _REGISTERED
    from jaxirl.objectives import OBJECTIVES
    from jaxirl.reward.models import _REGISTERED_KINDS

    return {"environments": _REGISTERED, "objectives": OBJECTIVES, "reward kinds": _REGISTERED_KINDS}


def _origins():
    """Who registered each name, per registry (:func:`register`)."""
    from jaxirl.envs.registry import _ORIGINS as envs
    from jaxirl.objectives import _ORIGINS as objectives
    from jaxirl.reward.models import _KIND_ORIGINS as kinds

    return {"environments": envs, "objectives": objectives, "reward kinds": kinds}


def registration_origin(frame) -> tuple:
    """``(module name, file)`` of the code that registers something, given the frame that called a ``register_*``
    function: the innermost module being imported on the call stack (a helper function that a module calls while it is
    imported registers for that module), else that frame's own module (a script, a notebook, a test)."""
    f = frame
    while f is not None:
        spec = f.f_globals.get("__spec__")
        if f.f_code.co_name == "<module>" and getattr(spec, "_initializing", False):
            return f.f_globals.get("__name__"), f.f_globals.get("__file__")
        f = f.f_back
    return frame.f_globals.get("__name__"), frame.f_globals.get("__file__")


def register(registry: dict, origins: dict, name: str, value, replace: bool, what: str, own: tuple = ()) -> None:
    """Put ``value`` in ``registry`` as ``name``, recording in ``origins`` who registered it (from the code that called
    the ``register_*`` function that calls this: :func:`registration_origin`). A name that other code registered is
    refused unless ``replace`` — the same module registering it again (reloaded, a notebook cell run twice) replaces
    it; ``own``: jaxirl's names in ``registry``, refused likewise. ``what`` names the kind of thing in the message."""
    origin = registration_origin(sys._getframe(2))
    taken = registry.get(name)
    if taken is not None and taken is not value and not replace and origins.get(name) != origin:
        module, file = origins.get(name, (None, None))
        by = f"registered by {module} at {file}" if name in origins or name not in own else "one of jaxirl's own"
        raise ValueError(f"name: {name!r} is already {what} ({by}); choose another name or pass replace=True")
    registry[name] = value
    origins[name] = origin


def imported_registrations(kind: str) -> str:
    """For the message about an unknown name (``kind``: ``"environments"``, ``"objectives"`` or ``"reward kinds"``): what the modules
    imported through :func:`import_modules` in this process registered of that kind, and from which file ("" if
    none was imported)."""
    if not _IMPORTED:
        return ""
    return f"; the {kind} registered by the modules of `imports`: " + "; ".join(
        f"{module} ({found['file']}): {', '.join(found[kind]) or 'none'}" for module, found in _IMPORTED.items())


def _where(err: BaseException, module_file: str | None) -> str:
    """``" at FILE, line N"``: the innermost frame of ``err``'s traceback in the imported module's own folder, else
    the innermost one outside Python's standard library, installed packages and jaxirl (the user's code), else
    the innermost frame."""
    import traceback

    frames = traceback.extract_tb(err.__traceback__)
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    library = {os.path.abspath(p) + os.sep for key in ("stdlib", "platstdlib", "purelib", "platlib")
               if (p := sysconfig.get_paths().get(key))}
    own_dir = os.path.dirname(os.path.abspath(module_file)) + os.sep if module_file else None
    mine = [f for f in frames if own_dir and not f.filename.startswith("<")  # ("<frozen importlib…>" is no file)
            and os.path.abspath(f.filename).startswith(own_dir)]
    users = [f for f in frames if not f.filename.startswith("<") and not os.path.abspath(f.filename).startswith(here)
             and not any(os.path.abspath(f.filename).startswith(p) for p in library)
             and "-packages" + os.sep not in f.filename]
    frame = (mine or users or frames or [None])[-1]
    return "" if frame is None else f" at {frame.filename}, line {frame.lineno}"


def import_modules(names: Any, field: str = "imports") -> None:
    """Import the Python modules a config's top-level ``imports`` lists, in order, before its other keys are read.

    A name is a dotted module name found on ``sys.path`` or in the current directory (which is added to the end of
    ``sys.path`` when it is not there: the ``jaxirl`` script does not put it there, ``python -m`` does). A module
    is imported once per process, as ``import`` does; a script that lists itself (it registers, then calls
    ``jaxirl.cli.main`` under ``if __name__ == "__main__":``) is not run a second time: the running script stands
    for it. A name that is not a module name, or a module that cannot be imported or raises while it is, is a
    ``ValueError`` naming ``field``, the module and (for an error in its code) the file and line; what the module
    registered before it failed is undone, so that a corrected import in the same process is not refused."""
    if not isinstance(names, (list, tuple)):
        raise ValueError(f"{field}: expected a list of module names, got {names!r}")
    for name in names:
        if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")) or name.endswith(".py"):
            raise ValueError(f"{field}: expected dotted module names (e.g. my_package.my_objectives; a module, not "
                             f"a file path), got {name!r}")
    try:
        cwd = os.getcwd()
    except OSError:  # the current directory was deleted: nothing to add
        cwd = None
    if names and cwd is not None and cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    for name in names:
        if name in sys.modules:
            continue
        registries = _registries()
        before = {kind: dict(registry) for kind, registry in registries.items()}
        origins = _origins()
        origins_before = {kind: dict(o) for kind, o in origins.items()}
        spec = None
        try:
            main_file = getattr(sys.modules.get("__main__"), "__file__", None)
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin and main_file and \
                    os.path.realpath(spec.origin) == os.path.realpath(main_file):
                sys.modules[name] = sys.modules["__main__"]  # the running script itself: registered already
                continue
            importlib.import_module(name)
        except Exception as err:
            for kind, registry in registries.items():  # undo a half-done module's registrations
                registry.clear()
                registry.update(before[kind])
                origins[kind].clear()
                origins[kind].update(origins_before[kind])
            if isinstance(err, ModuleNotFoundError) and err.name is not None and (
                    name == err.name or name.startswith(err.name + ".")):
                raise ValueError(f"{field}: cannot import {name!r} ({err}); the module must be on PYTHONPATH or in "
                                 "the current directory") from None
            where = _where(err, spec.origin if spec is not None else None)
            raise ValueError(f"{field}: importing {name!r} failed{where}: {type(err).__name__}: {err} "
                             "(JAXIRL_DEBUG=1 shows the traceback)") from err
        module_file = getattr(sys.modules.get(name), "__file__", None) or "?"
        _IMPORTED[name] = {kind: sorted(set(registry) - set(before[kind])) for kind, registry in registries.items()}
        _IMPORTED[name]["file"] = module_file
