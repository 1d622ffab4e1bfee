"""Every module imports on its own, first, in a fresh interpreter state (an import cycle that another
import order hides broke ``jaxirl tabular`` from the command line once)."""

import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..")

_SCRIPT = r"""
import importlib, pkgutil, sys, traceback
import jax, flax, optax  # third-party modules stay loaded; only jaxirl's are dropped between imports
import jaxirl
names = sorted(m.name for m in pkgutil.walk_packages(jaxirl.__path__, "jaxirl."))
failed = []
for name in names:
    for k in [k for k in sys.modules if k == "jaxirl" or k.startswith("jaxirl.")]:
        del sys.modules[k]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print(len(names), "modules")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first():
    env = dict(os.environ, PYTHONPATH=os.path.abspath(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert int(out.stdout.split()[0]) >= 30  # the walk found the package's modules


def test_subpackages_expose_their_modules():
    """``from jaxirl import rl; rl.ppo`` works whatever was imported before (the README writes ``rl.ppo.PPOConfig``)."""
    script = "from jaxirl import rl, tabular, objectives, envs, reward; rl.ppo.PPOConfig; rl.evaluate; print('ok')"
    env = dict(os.environ, PYTHONPATH=os.path.abspath(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]

