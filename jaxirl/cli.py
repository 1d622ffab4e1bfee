"""The ``jaxirl`` command.

::

    jaxirl tabular CONFIG [key=value ...]   exact tabular MaxEnt IRL job (jaxirl.jobs.tabular)
    jaxirl expert  CONFIG [key=value ...]   train a PPO expert on the true reward, save demonstrations
    jaxirl train   CONFIG [key=value ...]   adversarial IRL (GAIL / AIRL) from a demonstrations file
    jaxirl bc      CONFIG [key=value ...]   behavioural cloning of a demonstrations file (the baseline)
    jaxirl eval    RUN_DIR [key=value ...]  re-evaluate a saved policy on the true reward
    jaxirl demos   FILE [key=value ...]     validate a demonstrations file and describe it (returns, lengths, ends)

``jaxirl COMMAND --help`` ends with every configuration key of that command and its default.

Compiled programs are kept in JAX's persistent compilation cache, so a second run of the same configuration
(another seed, a resumed run, ``jaxirl eval``) skips most of the compiling: by default in
``$XDG_CACHE_HOME/jaxirl/xla`` (``~/.cache/jaxirl/xla``); ``JAXIRL_COMPILE_CACHE=DIR`` chooses the folder and
``JAXIRL_COMPILE_CACHE=off`` turns it off. A cache folder set for JAX itself (``JAX_COMPILATION_CACHE_DIR`` or
``jax.config``) is left as it is. JAX does not cache a program that calls back to the host: with
``run.progress: true`` (the progress bar is driven from inside the scan) a training chunk is compiled anew
in every process; ``run.progress=false`` lets it be cached too.

Overrides use dotted keys (``ppo.learning_rate=1e-3``, ``run.root=/tmp/runs``, ``resume=RUN_DIR``); values
are parsed as YAML.  The top-level ``imports`` of the expert, train and bc jobs (``imports=[my_module]``; also an
option of ``jaxirl demos FILE check_env=true`` and ``jaxirl eval``) lists modules imported before the rest of the
config is read: modules of one's own that register environments (``jaxirl.envs.register_env``) and objectives
(``jaxirl.objectives.register_objective``); ``jaxirl eval RUN_DIR`` imports those its run's ``config.yaml`` lists.

A configuration error (unknown key, wrong type, bad value, missing or mismatched file) prints
``jaxirl <command>: error: <message>`` and exits with status 2, without a traceback; set ``JAXIRL_DEBUG=1`` to get
the traceback instead.  A run whose training state stops being finite (NaN or inf parameters: divergence, or an
env that emits NaN) stops after that chunk with status 3 and a message naming the first non-finite metric; its
folder keeps the outputs of the last finite chunk.  Running out of device memory is status 2 with one line naming
the sizes to lower; Ctrl-C (and SIGTERM) is status 130, naming the run folder and where a resume continues from.
On success the job's summary is printed as JSON on stdout and the status is 0.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import sys
import threading
from typing import Sequence

__all__ = ["main", "build_parser"]

_JOBS = {
    "tabular": ("jaxirl.jobs.tabular", "exact tabular MaxEnt IRL (gridworld) from a YAML config"),
    "expert": ("jaxirl.jobs.expert", "train a PPO expert on the true reward and save demonstrations"),
    "train": ("jaxirl.jobs.train", "adversarial IRL (GAIL/AIRL) from demonstrations"),
    "bc": ("jaxirl.jobs.bc", "behavioural cloning of demonstrations into a PPO policy (the baseline)"),
    "eval": ("jaxirl.jobs.evaluate", "re-evaluate a saved policy of a run folder on the true reward"),
    "demos": ("jaxirl.jobs.demos", "validate a demonstrations .npz file and describe it (episodes, returns, metadata)"),
}


def job_defaults(command: str) -> dict | None:
    """The configuration keys of a job and their defaults (``None``: the command takes no configuration)."""
    module = importlib.import_module(_JOBS[command][0])
    if hasattr(module, "defaults"):
        return module.defaults()
    return getattr(module, "DEFAULTS", None)


class _JobParser(argparse.ArgumentParser):
    """A subcommand's parser whose ``--help`` ends with every configuration key and its default, read from the
    job module only when help is asked for (importing a job imports JAX)."""

    def format_help(self) -> str:
        text = super().format_help()
        command = self.prog.split()[-1]
        if command not in _JOBS:
            return text
        try:
            found = job_defaults(command)
        except ImportError as err:  # e.g. an optional dependency missing
            return text + f"\n(configuration keys unavailable: {err})\n"
        if not found:
            return text
        from jaxirl.config import dump_yaml

        if command in ("demos", "eval"):  # options of a file or run folder, no config file
            flat = ({f"{k}.{kk}": vv for k, v in found.items() if isinstance(v, dict) for kk, vv in v.items()}
                    | {k: v for k, v in found.items() if not isinstance(v, dict)}) if command == "eval" else found
            body = "\n".join(f"  {k}: {'null' if v is None else str(v).lower() if isinstance(v, bool) else v}"
                             for k, v in flat.items())
            where = " (the run folder's own config.yaml sets them first)" if command == "eval" else ""
            return text + f"\noptions (key=value) and their defaults{where}:\n" + body + "\n"
        body = "\n".join("  " + line for line in dump_yaml(found).rstrip().splitlines())
        return text + ("\nconfiguration keys and their defaults (a CONFIG file sets any of them, key=value overrides"
                       " them):\n" + body + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxirl", description="Inverse reinforcement learning in JAX.",
        epilog="Overrides: dotted.key=value, values parsed as YAML (e.g. ppo.hidden=[32,32]).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_JobParser)
    for name, (_, help_text) in _JOBS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == "eval":
            p.add_argument("config", metavar="RUN_DIR", help="run folder written by `jaxirl expert`, `jaxirl train` or `jaxirl bc`")
        elif name == "demos":
            p.add_argument("config", metavar="FILE", help="demonstrations .npz (e.g. demos/hopper.npz)")
        else:
            p.add_argument("config", metavar="CONFIG", help="YAML configuration file")
        # default=[]: argparse (3.11) otherwise lists an empty nargs="*" among "the following arguments are required"
        p.add_argument("overrides", nargs="*", default=[], metavar="key=value", help="configuration overrides")
    return parser


def compile_cache_dir() -> str | None:
    """The persistent compilation cache folder the CLI uses (``None``: off); see the module docstring."""
    value = os.environ.get("JAXIRL_COMPILE_CACHE")
    if value is not None:
        return None if value.strip().lower() in ("", "0", "off", "none", "false") else os.path.expanduser(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxirl", "xla")


def _enable_compile_cache() -> None:
    import jax

    if jax.config.jax_compilation_cache_dir:  # the user's (or JAX_COMPILATION_CACHE_DIR's) choice stands
        return
    path = compile_cache_dir()
    if path is not None:
        jax.config.update("jax_compilation_cache_dir", path)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (a cluster's preemption, ``timeout``, ``kill``) ends a job as Ctrl-C does — with the message of where
    its run resumes from — instead of silently; the previous handler is restored after (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    _enable_compile_cache()
    module_name = _JOBS[args.command][0]
    debug = os.environ.get("JAXIRL_DEBUG", "") not in ("", "0")
    try:
        for item in args.overrides:
            if "=" not in item:
                raise ValueError(f"override {item!r} must have the form key=value")
        job = importlib.import_module(module_name)
        with _sigterm_as_interrupt():
            summary = job.main(args.config, list(args.overrides))
    except ValueError as err:
        if debug:
            raise
        print(f"jaxirl {args.command}: error: {_with_section(args.command, str(err))}", file=sys.stderr)
        return 2
    except OSError as err:  # a file or folder that cannot be read or written (disk full, permissions...)
        if debug:
            raise
        print(f"jaxirl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if debug or not (err.name or "").startswith("jaxirl"):
            raise
        print(f"jaxirl {args.command}: error: this command is not available ({err})", file=sys.stderr)
        return 2
    except RuntimeError as err:
        from jaxirl.jobs import Diverged

        if debug:
            raise
        if isinstance(err, Diverged):
            print(f"jaxirl {args.command}: error: {err}", file=sys.stderr)
            return 3
        text = str(err)
        if "RESOURCE_EXHAUSTED" not in text and "out of memory" not in text.lower():
            raise
        first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
        print(f"jaxirl {args.command}: error: out of memory ({first[:300]}); "
              f"{_memory_hint(args.command, getattr(err, 'run_dir', None))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        if debug:
            raise
        where = getattr(err, "run_dir", None)
        hint = f" ({_resume_hint(args.command, where)})" if where else ""
        print(f"\njaxirl {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    try:
        print(json.dumps(_jsonable(summary), indent=2))
    except (BrokenPipeError, ValueError):  # stdout gone (`| head`, a closed terminal): the job's files hold it
        pass
    return 0


# what a run of each command can make smaller: in a new run, and in a resume (evaluation and demonstrations only)
_SIZES = {"train": ("env.num_envs, discriminator.expert_batch_size / policy_batch_size or a larger "
                    "ppo.num_minibatches", "eval.num_envs"),
          "expert": ("env.num_envs or a larger ppo.num_minibatches", "eval.num_envs or demos.num_envs"),
          "bc": ("bc.batch_size or eval.num_envs", None),
          "eval": ("eval.num_envs", None),
          "tabular": ("env.size or expert.num_demos", None),
          "demos": ("nothing: the file is too large for this machine", None)}


def _memory_hint(command: str, run_dir: str | None) -> str:
    """What to lower after running out of memory, and where a resume can (for the evaluation or the demonstrations
    after training) or cannot (in training: the sizes it needs are not resumable) help."""
    new_run, resumable = _SIZES.get(command, ("the sizes of the run", None))
    hint = f"lower {new_run}"
    if run_dir is not None and resumable is not None:
        hint += (f" (a new run); if it ran out after training — in the final evaluation"
                 f"{' or the demonstrations' if command == 'expert' else ''} —, a resume with a smaller {resumable} "
                 f"finishes it: {_resume_hint(command, run_dir)}")
    return hint


def _resume_hint(command: str, run_dir: str) -> str:
    """Where an interrupted or failed run of ``run_dir`` continues from, or that it has nothing to continue from."""
    from jaxirl.io import latest_checkpoint

    found = latest_checkpoint(run_dir) if os.path.isdir(run_dir) else None
    if found is None:
        return f"{run_dir} has no checkpoint yet: there is nothing to resume, and the folder may be deleted"
    unit = "update" if command == "expert" else "iteration"
    return (f"{run_dir} continues from its checkpoint of {unit} {found[0]} with `jaxirl {command} "
            f"{os.path.join(run_dir, 'config.yaml')} resume={run_dir}`")


def _with_section(command: str, message: str) -> str:
    """``message`` with its leading bare field name (``"algorithm: …"``) written as ``section.field`` where exactly one
    section of the command's configuration has that key (a check deep in the library names only the field)."""
    head = message.split(" ", 1)[0]
    if not head.endswith(":") or not head[:-1].isidentifier():  # a "field:" head, not yet dotted
        return message
    try:
        found = job_defaults(command) or {}
    except Exception:  # noqa: BLE001 - the message as it is, rather than a second error
        return message
    sections = [name for name, keys in found.items() if isinstance(keys, dict) and head[:-1] in keys]
    if len(sections) != 1:
        return message
    from jaxirl.config import prefix_field

    return prefix_field(sections[0], message)


def _jsonable(summary):
    from jaxirl.io import to_python

    return to_python(summary if summary is not None else {})


if __name__ == "__main__":  # python -m jaxirl.cli
    sys.exit(main())
