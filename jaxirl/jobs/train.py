"""``jaxirl train CONFIG``: adversarial IRL (GAIL, Ho & Ermon 2016; AIRL, Fu et al. 2018) from a demos file.

Sections (defaults in :func:`defaults`)::

    imports:       [] — modules imported first (they register objectives / envs of one's own;
                   jaxirl.plugins.import_modules)
    env:           name, backend, num_envs, episode_length, kwargs, reset_pool (0: a batched reset in every step
                   where an env ends; M: ended episodes restart from M reset states drawn once per rollout —
                   see jaxirl.envs.make / VecEnv)
    demos:         path (a .npz of jaxirl.data), expert_return (null: the file's metadata); the random
                   policy's return (the 0 of the normalised score) is the file's recorded random_return
                   where it has one (as ``jaxirl expert`` writes), else measured at init; terminations
                   (keep | truncate: record the expert's terminations as truncations, i.e. treat its falls
                   as not part of the behaviour — see jaxirl.data.terminations_as_truncations), episodes
                   (null: all; N: the file's first N episodes, jaxirl.data.first_episodes — the score's
                   normaliser stays the whole file's expert return), drop_actions (false; true: train as if
                   the file had no actions, jaxirl.data.without_actions — as an observation-only file trains:
                   only what never reads the expert's actions, e.g. GAIL with discriminator.inputs ss)
    train:         algorithm (gail | airl), num_iterations, eval_every, eval_steps, stagger_resets  (jaxirl.train_config)
    discriminator: the fields of jaxirl.objectives.DiscriminatorConfig
    ppo:           the fields of jaxirl.rl.ppo.PPOConfig (the generator)
    bc:            the fields of jaxirl.bc.BCConfig: behavioural cloning of the demonstrations into the PPO
                   policy before the first iteration (steps: 0 = off, the default; learning_rate, batch_size,
                   fit_std, ent_coef, l2; validation_fraction must stay 0: `jaxirl bc` reports a held-out score)
                   and a BC term in every PPO minibatch loss (coef: 0 = off, the default; coef_decay_iterations)
    eval:          num_envs (environments of the evaluation env), seed, num_steps (the window of a later
                   `jaxirl eval RUN_DIR`; 0: train.eval_steps, or one episode length),
                   env_kwargs (null: env.kwargs; else the evaluation env's own constructor arguments, e.g.
                   train with ``env.kwargs: {terminate_when_unhealthy: false}`` and score on the standard
                   env; the demonstrations must come from the evaluation env)
    run:           root, prefix (null: "<algorithm>-<env>"), seed, chunk, keep_checkpoints, progress, devices
                   (1; k > 1 splits the env.num_envs environments of the run over the first k devices, 0 over
                   all of them — jaxirl.parallel.shard_envs; the learning is replicated, the result the same;
                   ppo.shuffle_groups=k splits the PPO epochs among the devices too)
    resume:        null, or a run folder to continue

The run is executed in chunks of ``run.chunk`` iterations, each one call of the jitted
``Trainer.run`` (a ``lax.scan``; a progress bar is fed from inside it).  The chunk length is static: a last
chunk cut short (``run.chunk`` not dividing the iterations to run) compiles the program once more, which the job
notes on stderr before it starts.  After every chunk the host
appends the per-iteration metrics to ``metrics.jsonl``, writes ``policy.msgpack`` (the PPO state),
``reward.msgpack`` (the reward model's params) and a checkpoint of the whole ``TrainState``.
``run.progress=false`` drops the in-scan progress callback (the bar then moves once per chunk): JAX does
not keep programs with host callbacks in its persistent compilation cache, so repeated short runs (tests,
sweeps) compile faster without it.  At the end it writes ``learning_curve.png`` and ``summary.json``
with the final policy's true-reward returns and normalised scores (from the in-scan evaluation when the
last iteration had one, else from a fresh evaluation).

``resume=RUN_DIR`` restores the newest checkpoint of ``RUN_DIR`` and continues, so the training is bit-identical
to an uninterrupted run (all randomness lives in the train state's key).  The configuration must equal the run's
saved ``config.yaml`` except for ``train.num_iterations`` (which may be raised to train longer), ``resume`` and
``imports`` (the modules may have moved: the env and objective names must still be found) and what only logs
or evaluates: ``run.chunk``, ``run.progress``, ``run.keep_checkpoints``, ``train.eval_every``,
``eval.num_envs``, ``eval.num_steps`` and ``eval.seed`` (the policy, the reward and every training metric stay
those of the uninterrupted run — on the CPU, where it is tested: a new ``run.chunk`` or ``train.eval_every`` compiles
the program anew, and on a GPU another compilation may pick other kernels, equal up to float rounding; the
evaluations follow the new settings).  Not ``train.eval_steps`` or
``eval.env_kwargs``: the run's normalised score keeps the random return measured with them (a window or an env
other than the one it measured would shift the score's zero).  The run folder's
``config.yaml`` is rewritten with the new values.  :func:`load_reward` gives the learned
reward of a finished run as a plain function in one call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxirl import io
from jaxirl.config import check_folder, check_seed, coerce, finite_number, load_config, struct_defaults, to_struct
from jaxirl.jobs.evaluate import (ENV_DEFAULTS, POLICY_FILE, check_eval_section, eval_env_section, make_env,
                                  make_eval_env, ppo_config, ppo_defaults)
from jaxirl.jobs import (Diverged, chunk_lengths, first_nonfinite, interruptible, nonfinite_parts,
                         note_extra_compiles)
from jaxirl.plugins import import_modules
from jaxirl.progress import ProgressBar

__all__ = ["main", "defaults", "load_reward", "load_transfer_reward", "reward_model", "save_reward", "REWARD_FILE",
           "REWARD_MODEL_FILE"]

REWARD_FILE = "reward.msgpack"
REWARD_MODEL_FILE = "reward_model.json"
CURVE_KEYS = ("score_det", "score_stoch", "disc_loss", "learned_reward_mean")
# keys that may differ between a run's saved config and the config of its resumption: the length and whatever
# only logs or evaluates (none of them reaches the training's state or its keys: tests/test_cli.py checks it)
# (and imports: where the modules that register the run's env / objective are found; their names still must match)
_RESUMABLE = {("resume",), ("train", "num_iterations"), ("run", "progress"), ("run", "keep_checkpoints"),
              ("run", "chunk"), ("train", "eval_every"), ("eval", "num_envs"), ("eval", "num_steps"),
              ("eval", "seed"), ("imports",)}


def defaults() -> dict:
    from jaxirl.bc import BCConfig
    from jaxirl.objectives import DiscriminatorConfig

    return {
        "imports": [],  # modules to import first: objectives / envs of one's own (jaxirl.plugins.import_modules)
        "env": dict(ENV_DEFAULTS),
        "demos": {"path": "demos/pointmass.npz", "expert_return": None, "terminations": "keep", "episodes": None,
                  "drop_actions": False},
        "train": {"algorithm": "gail", "num_iterations": 100, "eval_every": 10, "eval_steps": 0,
                  "stagger_resets": False},
        "discriminator": struct_defaults(DiscriminatorConfig),
        "ppo": ppo_defaults(),
        "bc": struct_defaults(BCConfig),
        "eval": {"num_envs": 16, "seed": 0, "num_steps": 0, "env_kwargs": None},
        "run": {"root": "runs", "prefix": None, "seed": 0, "chunk": 10, "keep_checkpoints": 2, "progress": True,
                "devices": 1},
        "resume": None,
    }


def check_prefix_demos_eval(cfg: dict) -> None:
    """The checks the ``train`` and ``bc`` jobs share: ``run.prefix``, the ``demos`` section, ``eval.num_envs``,
    ``eval.num_steps`` and ``eval.env_kwargs``."""
    io.check_prefix("run.prefix", cfg["run"]["prefix"], nullable=True)
    check_seed("run.seed", cfg["run"]["seed"])
    check_folder("run.root", cfg["run"]["root"])
    if not isinstance(cfg["demos"]["path"], str) or not cfg["demos"]["path"]:
        raise ValueError(f"demos.path: expected the path of a demonstrations .npz, got {cfg['demos']['path']!r}")
    er = cfg["demos"]["expert_return"]
    if isinstance(er, str):  # YAML 1.1 reads 1e3 (no dot) as a string; the float keys accept it, so does this one
        try:
            er = cfg["demos"]["expert_return"] = coerce("demos.expert_return", 0.0, er)
        except ValueError:
            pass
    if er is not None and not finite_number(er):
        raise ValueError(f"demos.expert_return: expected a finite number or null, got {er!r}")
    from jaxirl.data import TERMINATIONS

    if cfg["demos"]["terminations"] not in TERMINATIONS:
        raise ValueError(f"demos.terminations: expected one of {', '.join(TERMINATIONS)}, "
                         f"got {cfg['demos']['terminations']!r}")
    n = cfg["demos"].get("episodes")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"demos.episodes: expected an int >= 1 (the file's first N episodes) or null (all), got {n!r}")
    check_eval_section(cfg)
    if "train" in cfg:  # `jaxirl train`: its evaluations' window
        check_eval_section(cfg, "train", "eval_steps")
    eval_env_section(cfg["env"], cfg["eval"])  # validates eval.env_kwargs


def _check(cfg: dict) -> None:
    run = cfg["run"]
    for key, lo in (("chunk", 1), ("keep_checkpoints", 0)):
        if run[key] < lo:
            raise ValueError(f"run.{key}: expected an int >= {lo}, got {run[key]}")
    from jaxirl.parallel import check_device_count

    check_device_count(run["devices"])
    check_prefix_demos_eval(cfg)


def _train_config(cfg: dict):
    from jaxirl.bc import BCConfig
    from jaxirl.objectives import DiscriminatorConfig
    from jaxirl.train_config import TrainConfig

    disc = to_struct(DiscriminatorConfig, cfg["discriminator"], name="discriminator")
    gen = ppo_config(cfg["ppo"])
    bc = to_struct(BCConfig, cfg["bc"], name="bc")
    return TrainConfig(algorithm=cfg["train"]["algorithm"], num_iterations=cfg["train"]["num_iterations"],
                       eval_every=cfg["train"]["eval_every"], eval_steps=cfg["train"]["eval_steps"],
                       stagger_resets=cfg["train"]["stagger_resets"],
                       discriminator=disc, generator=gen, bc=bc).validate()


def _load_demos(cfg: dict, env):
    from jaxirl.data import first_episodes, load_demos, terminations_as_truncations, without_actions

    path = cfg["demos"]["path"]
    try:
        demos, meta = load_demos(path, env)
    except ValueError as err:
        if os.path.isfile(path):
            raise
        if cfg.get("resume") is not None:  # other demonstrations would not do: the checkpoint holds their SHA-256
            raise ValueError(f"{err}; a resume trains on the demonstrations the run started with: put that file back "
                             f"at demos.path (a relative path is read from the current directory)") from None
        # say how to make them (e.g. humanoid: no demonstrations are shipped)
        raise ValueError(f"{err}; `jaxirl expert CONFIG demos.path={path}` trains a PPO expert for {env.name!r} and "
                         f"writes them (configs/expert_<env>.yaml in the repository)") from None
    if cfg["demos"].get("episodes") is not None:
        demos, meta = first_episodes(demos, meta, cfg["demos"]["episodes"])
    if cfg["demos"]["terminations"] == "truncate":
        demos = terminations_as_truncations(demos)
    if cfg["demos"].get("drop_actions"):
        demos = without_actions(demos)
    recorded = meta.get("env_kwargs")
    wanted = eval_env_section(cfg["env"], cfg["eval"])["kwargs"]
    if recorded is not None and dict(recorded) != dict(wanted):
        field = "env.kwargs" if cfg["eval"].get("env_kwargs") is None else "eval.env_kwargs"
        raise ValueError(f"demonstrations {cfg['demos']['path']!r}: recorded env kwargs {recorded} "
                         f"but {field} (the evaluation env's) is {wanted}")
    return demos, meta


def _fingerprint(demos) -> str:
    """SHA-256 of the demonstration arrays the run trains on (after ``demos.episodes`` / ``demos.terminations``)."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(demos):
        a = np.asarray(leaf)
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _save_outputs(run_dir: str, state) -> None:
    io.save_pytree(os.path.join(run_dir, POLICY_FILE), state.generator)
    io.save_pytree(os.path.join(run_dir, REWARD_FILE), state.reward)


def main(config_path: str | None, overrides: Sequence[str] = ()) -> dict:
    """Run (or resume) the job; returns the summary (also written to ``RUN_DIR/summary.json``)."""
    from jaxirl.train import make_train

    cfg = load_config(config_path, overrides, defaults())
    import_modules(cfg["imports"])  # before any name is looked up: they may register objectives and envs
    _check(cfg)
    resume = cfg["resume"]
    if resume is not None:
        io.check_resume(resume, cfg, defaults(), _RESUMABLE)
        found = io.latest_checkpoint(resume)  # its iteration is in its name: refuse a lower count before compiling
        if found is not None and found[0] > cfg["train"]["num_iterations"]:
            raise ValueError(f"resume: the checkpoint is at iteration {found[0]}, beyond train.num_iterations="
                             f"{cfg['train']['num_iterations']}")
    env = make_env(cfg["env"])
    from jaxirl.parallel import envs_mesh, pick_devices, shard_envs

    devices = pick_devices(cfg["run"]["devices"], env.num_envs)
    eval_env = make_eval_env(cfg["env"], cfg["eval"], cfg["eval"]["num_envs"])
    config = _train_config(cfg)
    demos, meta = _load_demos(cfg, env)
    fingerprint = _fingerprint(demos)  # kept with every checkpoint: a resume must train on the same data
    total = config.num_iterations
    label = f"{config.algorithm} {env.name}"
    bar = ProgressBar(total, desc=label, score_key="score_det")
    trainer = make_train(config, env, (demos, meta), expert_return=cfg["demos"]["expert_return"],
                         eval_env=eval_env, progress_fn=bar.callback if cfg["run"]["progress"] else None)
    # jitted as a whole: one compilation (kept in the persistent cache) instead of many eager ops
    state = jax.jit(trainer.init)(jax.random.PRNGKey(cfg["run"]["seed"]))
    if resume is not None:
        run_dir = resume
        try:
            state, info = io.load_checkpoint(run_dir, state)
        except io.StructureMismatch as err:
            raise ValueError(
                f"resume: the checkpoint's training state does not fit this version of jaxirl ({err}). A run "
                "checkpointed by an earlier version (e.g. before 2026-11-28, when the replay buffer began keeping the "
                "policy's pre-squash draws) cannot be resumed: start a new run (the old run's policy and reward still "
                "load: jaxirl eval RUN_DIR, jaxirl.load_reward)") from None
        if info.get("demos_sha256", fingerprint) != fingerprint:  # (checkpoints before 2026-11-28 hold none)
            raise ValueError(f"resume: the demonstrations differ from those the run was trained on (demos.path "
                             f"{cfg['demos']['path']!r} read from {os.getcwd()!r}: a relative path is read from the "
                             f"current directory); resume from where the run started, or start a new run")
        start = int(state.iteration)  # <= total: checked from the checkpoint's name before compiling
        earlier_seconds = float(info.get("seconds", 0.0))  # the training seconds of the invocations before this one
        io.write_config(run_dir, cfg)  # records a raised num_iterations, a new chunk, ...
    else:
        run_dir = io.make_run_dir(cfg["run"]["root"], cfg["run"]["prefix"] or f"{config.algorithm}-{env.name}")
        io.write_config(run_dir, cfg)
        start, earlier_seconds = 0, 0.0
    if len(devices) > 1:  # one run over several devices: its envs split among them, the rest replicated
        state = shard_envs(state, envs_mesh(devices))
    io.write_json(os.path.join(run_dir, REWARD_MODEL_FILE), _reward_spec(trainer))
    with interruptible(run_dir):  # Ctrl-C from here on: the message names the run folder
        bar.start_at(start)
        chunk = cfg["run"]["chunk"]
        lengths = chunk_lengths(start, total, chunk)
        note_extra_compiles("train", lengths, "run.chunk", "train.num_iterations")
        t0 = time.time()
        with io.MetricsWriter(os.path.join(run_dir, "metrics.jsonl"), truncate_after=start) as log, bar:
            it = start
            for n in lengths:
                state, metrics = trainer.run(state, n)
                metrics = jax.device_get(metrics)
                for j in range(n):  # env_steps: environment steps of training so far (all envs), counted on the host
                    log.write({k: np.asarray(v[j]) for k, v in metrics.items()}
                              | {"env_steps": (it + j + 1) * env.num_envs * config.generator.num_steps})
                it += n
                bar.update(it, float(metrics["score_det"][-1]) if "score_det" in metrics else None)
                bad = nonfinite_parts(state, ("generator", "reward", "disc_opt_state"))
                if bad:  # stop here: saving it would replace the last finite outputs, and training on is futile
                    raise Diverged(_diverged_message(run_dir, it, n, bad, metrics))
                _save_outputs(run_dir, state)
                seconds = round(earlier_seconds + time.time() - t0, 2)
                io.save_checkpoint(run_dir, it, state, {"chunk": chunk, "seconds": seconds, "demos_sha256": fingerprint})
                io.prune_checkpoints(run_dir, cfg["run"]["keep_checkpoints"])
        records = io.read_metrics(os.path.join(run_dir, "metrics.jsonl"))
        io.plot_learning_curve(records, os.path.join(run_dir, "learning_curve.png"), CURVE_KEYS,
                               title=f"{config.algorithm.upper()} on {env.name}")
        final = jax.device_get(state.last_eval)
        if int(final["eval_iteration"]) != int(state.iteration):  # the last iteration was not evaluated in the scan
            final = jax.device_get(jax.jit(trainer.evaluate)(state, jax.random.PRNGKey(cfg["eval"]["seed"])))
        summary = {
            "run_dir": run_dir, "env": env.name, "algorithm": config.algorithm, "iterations": int(state.iteration),
            "resumed_from": start if resume is not None else None,
            **{k: float(v) for k, v in final.items() if k != "eval_iteration"}, "eval_iteration": int(final["eval_iteration"]),
            "expert_return": trainer.expert_return, "random_return": float(state.random_return),
            "demos_path": cfg["demos"]["path"], "demo_episodes": int(len(meta["episode_lengths"])),
            "demo_actions": trainer.expert_actions,
            "train_seconds": round(earlier_seconds + time.time() - t0, 2), "devices": len(devices),
        }
        io.write_json(os.path.join(run_dir, "summary.json"), summary)
        return summary


def _diverged_message(run_dir: str, it: int, n: int, bad: list, metrics: dict) -> str:
    from jaxirl.train import EVAL_KEYS

    first = first_nonfinite(metrics, it - n + 1, skip=EVAL_KEYS)  # before the first evaluation they are NaN
    where = f"; the first non-finite metric: {first[0]} at iteration {first[1]}" if first else ""
    last = io.latest_checkpoint(run_dir)
    kept = (f"the policy, the reward and the checkpoint of iteration {last[0]}, the last finite chunk's"
            if last is not None else "no policy or checkpoint (the first chunk diverged)")
    return (f"training diverged: non-finite values (NaN or inf) in the {', '.join(bad)} state after iteration {it}"
            f"{where}. {run_dir} keeps {kept}, and metrics.jsonl every iteration up to {it}; a resume would repeat "
            "the same steps, so start a new run with changed settings (e.g. smaller learning rates, "
            "ppo.max_grad_norm, a discriminator.grad_penalty), or check the environment's observations")


def _reward_spec(trainer) -> dict:
    """What ``reward_model.json`` holds: the reward network's structure, the algorithm, its reward form, γ."""
    discount = trainer.generator.discount  # PPO's config value; the MDP's for the soft-VI generator
    if isinstance(discount, jax.core.Tracer) or np.ndim(discount) != 0:
        raise ValueError("trainer: its discount is traced or batched (a trainer built inside jax.vmap); save each run's "
                         "reward with a trainer built for that run's settings")
    spec = {"model": dataclasses.asdict(trainer.model), "algorithm": trainer.config.algorithm,
            "reward_type": trainer.reward_type, "discount": float(discount)}
    from jaxirl.reward import models as reward_models

    if reward_models.registered_kind(trainer.model.kind) is not None:  # a kind of one's own: the code to import
        spec["kind_module"], spec["kind_file"] = reward_models.kind_origin(trainer.model.kind)  # when it is loaded
    return spec


def save_reward(directory: str, trainer, state) -> str:
    """Write the learned reward of ``state`` (one run's ``TrainState``, as ``trainer.train`` / ``trainer.run``
    return it) into ``directory`` (created if missing) so that :func:`load_reward` / ``jaxirl.load_reward`` and
    :func:`load_transfer_reward` read it back — the same two files a ``jaxirl train`` run folder holds
    (``reward_model.json``, ``reward.msgpack``). Returns ``directory``. A vmapped state (several runs) is refused:
    save one lane, ``jax.tree.map(lambda x: x[i], states)``."""
    from jaxirl import reward as reward_lib

    spec = _reward_spec(trainer)
    params = getattr(state, "reward", None)
    template = reward_lib.init(trainer.model, jax.random.PRNGKey(0))
    want = [np.shape(x) for x in jax.tree.leaves(template)]
    got = [np.shape(x) for x in jax.tree.leaves(params)] if params is not None else None
    if got != want or jax.tree.structure(params) != jax.tree.structure(template):
        shapes = f"leaf shapes {got[:2]}... where {want[:2]}... were expected" if got else "no reward parameters"
        raise ValueError(f"state: expected one run's TrainState of this trainer (its .reward), got {shapes} — for "
                         f"vmapped runs save one lane: jax.tree.map(lambda x: x[i], states)")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(f"directory: {directory!r} exists and is not a folder")
    os.makedirs(directory, exist_ok=True)
    io.write_json(os.path.join(directory, REWARD_MODEL_FILE), spec)
    io.save_pytree(os.path.join(directory, REWARD_FILE), params)
    return directory


def reward_model(run_dir: str, which: str | None = None):
    """``(model, params, which)`` of a finished ``jaxirl train`` run folder (``which`` resolved as
    :func:`load_reward` documents)."""
    return _reward_model(run_dir, which)[:3]


def _reward_model(run_dir: str, which: str | None = None):
    """:func:`reward_model` and the run's γ (``reward_model.json``'s ``discount``), which a reward kind of one's own
    receives."""
    from jaxirl import reward as reward_lib

    spec_path = os.path.join(run_dir, REWARD_MODEL_FILE)
    params_path = os.path.join(run_dir, REWARD_FILE)
    if not os.path.isfile(spec_path) or not os.path.isfile(params_path):
        raise ValueError(f"{run_dir!r} is not a finished `jaxirl train` run (needs {REWARD_MODEL_FILE} and {REWARD_FILE})")
    spec = io.read_json(spec_path)
    if not isinstance(spec, dict) or not isinstance(spec.get("model"), dict):
        raise ValueError(f"{spec_path!r}: expected a mapping with a 'model' mapping (the reward network's fields)")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["model"].items()}
    known = {f.name for f in dataclasses.fields(reward_lib.RewardModel) if f.init}
    if unknown := sorted(set(fields) - known):
        raise ValueError(f"{spec_path!r}: unknown reward model field(s) {', '.join(unknown)} (a run of a newer jaxirl?); "
                         f"this version knows {', '.join(sorted(known))}")
    kind = fields.get("kind")
    if isinstance(kind, str) and kind not in reward_lib.kind_names():
        _import_reward_kind(run_dir, kind, spec.get("kind_module"), spec.get("kind_file"))
    elif isinstance(kind, str) and reward_lib.registered_kind(kind) is not None and \
            isinstance(spec.get("kind_module"), str) and reward_lib.kind_origin(kind)[0] != spec["kind_module"]:
        import warnings

        warnings.warn(f"{run_dir!r}: its reward kind {kind!r} came from {spec['kind_module']!r}; the one of that name "
                      f"registered in this process, from {reward_lib.kind_origin(kind)[0]!r}, is used", stacklevel=3)
    model = reward_lib.RewardModel(**fields).validate()
    try:
        params = io.load_pytree(params_path, reward_lib.init(model, jax.random.PRNGKey(0)))
    except io.StructureMismatch as err:
        if reward_lib.registered_kind(model.kind) is None:
            raise
        module, file = reward_lib.kind_origin(model.kind)
        raise ValueError(f"{params_path!r}: the parameters do not fit reward kind {model.kind!r} as registered in this "
                         f"process (by {module} at {file}; the run's came from {spec.get('kind_module')}): {err}"
                         ) from None
    if which is None and reward_lib.is_logit_network(model) and spec.get("reward_type") is not None:
        which = reward_lib.default_which(spec["reward_type"], f"the run {run_dir!r} ({spec.get('algorithm')!r})",
                                         model.kind)
    discount = spec.get("discount")
    return model, params, which, discount if isinstance(discount, (int, float)) and not isinstance(discount, bool) \
        else None


def _import_reward_kind(run_dir: str, kind: str, kind_module, kind_file=None) -> None:
    """A run's reward network is a kind of one's own not registered in this process: import the module that registered
    it (``kind_module`` of ``reward_model.json``; a script's ``__main__`` cannot be, and is named by its file,
    ``kind_file``), then, if the kind is still unknown, what the run's ``config.yaml`` lists in ``imports`` (as
    ``jaxirl eval`` does). Loading a reward thus runs code that the run folder names, as evaluating its policy does."""
    from jaxirl import reward as reward_lib

    failed = []
    if isinstance(kind_module, str) and kind_module != "__main__":
        try:
            import_modules([kind_module], field=f"{os.path.join(run_dir, REWARD_MODEL_FILE)}: kind_module")
        except ValueError as err:  # moved or broken: the run's imports may still find it
            failed.append(str(err))
        if kind in reward_lib.kind_names():
            return
    config_path = os.path.join(run_dir, "config.yaml")
    listed = []
    if os.path.isfile(config_path):
        try:
            listed = io.read_config(run_dir).get("imports") or []
        except ValueError:  # an unreadable config is reported where it is read for itself; here only a hint
            listed = []
    try:
        import_modules(listed, field=f"{config_path}: imports")
    except ValueError as err:
        failed.append(str(err))
    if kind in reward_lib.kind_names():
        return
    tried = "".join(f"; {f}" for f in failed)
    if listed and not failed:
        tried += f"; the run's config.yaml lists imports {listed}, which did not register it"
    if kind_module == "__main__":
        script = f"the script {kind_file!r}" if kind_file else "an interactive session (no file)"
        raise ValueError(f"{run_dir!r}: its reward network is of kind {kind!r}, registered by {script} run as __main__, "
                         f"which this process has not run{tried}: run that registration before loading it, or move it "
                         "into a module and list that module in the config's `imports`")
    where = f"{kind_module!r}, the module that registered it" if isinstance(kind_module, str) else \
        "the module that registers it"
    raise ValueError(f"{run_dir!r}: its reward network is of kind {kind!r}, registered by code of one's own that this "
                     f"process has not run (jaxirl.reward.register_reward_kind){tried}; import {where}, before loading "
                     "it")


def load_reward(run_dir: str, which: str | None = None) -> Callable:
    """The learned reward of a ``jaxirl train`` run folder as ``fn(obs, action, next_obs=None) -> reward``.

    AIRL: the disentangled reward ``g(s[, a])`` (Fu et al. 2018); GAIL: the discriminator-derived reward
    its generator was trained with (``which`` = ``"logit"``, ``"gail"`` or ``"log_d"`` to choose another,
    see :func:`jaxirl.reward.reward_fn`).  Inputs have leading batch dimensions; discrete actions are
    integer indices.  No environment is built (the reward model's structure is read from
    ``reward_model.json``), so this is cheap also for Brax runs.
    """
    from jaxirl import reward as reward_lib

    model, params, which, discount = _reward_model(run_dir, which)
    return reward_lib.reward_fn(model, params, which, discount)


def load_transfer_reward(run_dir: str, which: str | None = None, env=None, absorbing: bool = True) -> Callable:
    """The learned reward of a ``jaxirl train`` run as a reward to train a new policy on (reward transfer, Fu et
    al. 2018): ``fn(transition, discount) -> reward`` for a batch of :class:`~jaxirl.envs.Transition`.

    It is :func:`load_reward`'s ``r(s, a, s′)``, plus — where the run learned the reward of the absorbing state
    that follows a termination (``discriminator.absorbing``; Kostrikov et al. 2019) — that state's reward for
    ever after at every terminated transition, ``r_abs · γ / (1 − γ)``, so ending an episode costs (or pays) in
    the new run what it did in the one that learned the reward. Without it a termination is worth 0 after it,
    and a policy trained on a negative learned reward learns to end its episodes. ``env`` (optional): refuses a
    reward model made for other observation or action sizes. ``absorbing=False`` leaves the absorbing term out (an
    ablation: a termination is then worth 0 after it)."""
    from jaxirl import reward as reward_lib
    from jaxirl.objectives.gail import reward_from_logit

    model, params, which, discount = _reward_model(run_dir, which)
    if env is not None:
        width = env.num_actions if env.discrete else env.action_size
        if (model.obs_size, model.action_size, model.discrete) != (env.observation_size, width, env.discrete):
            raise ValueError(f"{run_dir!r}: its reward takes observations of size {model.obs_size} and "
                             f"{'discrete' if model.discrete else 'continuous'} actions of width {model.action_size}; "
                             f"env {env.name!r} has {env.observation_size} and "
                             f"{'discrete' if env.discrete else 'continuous'} {width}")
    fn = reward_lib.reward_fn(model, params, which, discount)
    r_abs = None
    if model.absorbing and absorbing:
        score = reward_lib.absorbing_score(model, params)
        r_abs = reward_from_logit(score, which or "logit") if reward_lib.is_logit_network(model) else score

    def transfer(transition, discount):
        r = fn(transition.obs, transition.action, transition.next_obs)
        if r_abs is not None:
            r = r + jnp.where(transition.terminated > 0, r_abs * discount / (1.0 - discount), 0.0)
        return r

    transfer.absorbing = r_abs is not None  # (its value needs a discount < 1: the expert job checks)
    return transfer
