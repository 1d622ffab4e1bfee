"""``jaxirl expert CONFIG``: train a PPO expert on the TRUE reward, then record demonstrations.

Sections (defaults in :func:`defaults`)::

    imports:[] — modules imported first (they register objectives / envs of one's own;
           jaxirl.plugins.import_modules)
    env:   name, backend, num_envs, episode_length, kwargs      (see jaxirl.envs.make)
    ppo:   the fields of jaxirl.rl.ppo.PPOConfig
    train: num_updates, log_every (updates per jitted chunk / log line), seed,
           num_seeds (independent runs vmapped in one program; the best one is kept),
           sweep ({ppo_field: [one value per seed]} for traced PPO fields, e.g. discount),
           time_limit_s (0: none; else stop after the chunk that passes this many seconds),
           keep_best (keep the policy at the end of the chunk with the best mean training return
           instead of the last one: PPO on Brax hopper can collapse late),
           reward_run (null: the env's true reward; a ``jaxirl train`` run folder: train on the reward that
           run learned instead — reward transfer, see jaxirl.jobs.train.load_transfer_reward; the returns
           logged and evaluated stay the TRUE ones, which the policy never sees), reward_which (GAIL:
           logit | gail | log_d; null: what the run trained its generator with), reward_absorbing (true: add
           the run's learned absorbing-state reward at terminations; false: leave it out, an ablation)
    demos: num_episodes, num_envs (parallel envs for recording), deterministic (record the policy's
           mode instead of samples), path (default RUN_DIR/demos.npz)
    eval:  num_envs, seed, num_steps (0: one episode length)
    run:   root, prefix, progress (false: no in-scan progress callback — the bar then moves once per chunk;
           programs with host callbacks are not kept in JAX's persistent compilation cache), devices (1; k > 1
           splits every lane's env.num_envs environments over the first k devices, 0 over all — jaxirl.parallel.shard_envs; with
           ppo.shuffle_groups=k the PPO epochs divide too), keep_checkpoints (1: the newest only; 0: all)
    resume: null, or the folder of an interrupted (or finished) expert run to continue

Training runs PPO (Schulman et al. 2017) in chunks of ``log_every`` updates, each one jitted
``lax.scan``; a progress bar is fed from inside the scan with ``jax.debug.callback``.  The run folder gets
``config.yaml``, ``metrics.jsonl``, ``learning_curve.png``, ``policy.msgpack`` (the ``PPOState``),
``summary.json``; with ``num_seeds > 1`` the lanes train side by side (``jax.vmap`` over keys and the
swept hyperparameters) and the lane with the best mean training return over the last chunk is evaluated,
saved and recorded. Lane ``i`` draws its keys as ``split(key, lanes)[i]``, which does not depend on the number of
lanes under JAX's default (partitionable) PRNG, so lane 0 is the single run of the same seed (up to vmap's float
rounding).  The demonstrations file (schema in :mod:`jaxirl.data`) records the expert's return (mean return of the
recorded episodes) and the random policy's return.

After every chunk a checkpoint (``checkpoints/checkpoint-<updates>.msgpack``) holds everything the loop
carries: every lane's PPO state, the environments' states (episodes in progress), the policy kept so far
(``keep_best``), the last chunk's returns and the training seconds spent.  ``resume=RUN_DIR`` with
``RUN_DIR/config.yaml`` as CONFIG restores the newest one and trains on: update ``u`` of a lane always uses
the key ``fold_in(lane key, u)``, so a resumed run is bit-identical to an uninterrupted one (tested).  Only
``train.num_updates`` (raise it to train longer, not past an annealed learning rate's ``ppo.anneal_lr_updates``;
or set it to the checkpoint's update to finish the run from it, e.g. after a divergence), ``train.time_limit_s``
(each invocation's own budget), ``run.progress``, ``run.keep_checkpoints``, the ``demos`` and ``eval`` sections
(used after training), ``imports`` and ``resume`` may differ from the saved configuration: a GPU expert cut by a session's time limit continues in
the next call.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxirl import io
from jaxirl.config import check_folder, check_seed, coerce, load_config, rename_field
from jaxirl.plugins import import_modules
from jaxirl.jobs.evaluate import (ENV_DEFAULTS, EVAL_DEFAULTS, POLICY_FILE, check_eval_section, evaluate_policy,
                                  make_env, ppo_config, ppo_defaults)
from jaxirl.jobs import (Diverged, chunk_lengths, finite_lanes, first_nonfinite, interruptible,
                         note_extra_compiles)
from jaxirl.progress import ProgressBar

__all__ = ["main", "defaults", "make_chunk"]


def defaults() -> dict:
    return {
        "imports": [],  # modules to import first: objectives / envs of one's own (jaxirl.plugins.import_modules)
        "env": dict(ENV_DEFAULTS),
        "ppo": ppo_defaults(),
        "train": {"num_updates": 100, "log_every": 10, "seed": 0, "num_seeds": 1, "sweep": {},
                  "time_limit_s": 0.0, "keep_best": False, "reward_run": None, "reward_which": None,
                  "reward_absorbing": True},
        "demos": {"num_episodes": 16, "num_envs": 16, "deterministic": False, "path": None},
        "eval": dict(EVAL_DEFAULTS),
        "run": {"root": "runs", "prefix": "expert", "progress": True, "devices": 1, "keep_checkpoints": 1},
        "resume": None,
    }


# what may differ between a run's saved config and the config of its resumption (a prefix: the whole section)
_RESUMABLE = {("resume",), ("train", "num_updates"), ("train", "time_limit_s"), ("run", "progress"),
              ("run", "keep_checkpoints"), ("demos",), ("eval",), ("imports",)}


def _diverged(run_dir: str, updates_done: int, n: int, lanes: int, metrics: dict, kept) -> Diverged:
    """The error of a run whose every lane diverged in the chunk ending at ``updates_done``; the policy kept so far
    (``kept``, of the last finite chunk: the one its newest checkpoint holds) is in policy.msgpack (the caller wrote
    it) when there is a checkpoint."""
    flat = {k: np.asarray(v).reshape(lanes, -1).T if lanes > 1 else v for k, v in metrics.items()}  # (n, lanes)
    first = first_nonfinite(flat, updates_done - n + 1)
    where = f"; the first non-finite metric: {first[0]} at update {first[1]}" if first else ""
    last = io.latest_checkpoint(run_dir)
    if last is not None and kept is not None:
        held = (f"the checkpoint of update {last[0]}, the last finite chunk's, and its kept policy in {POLICY_FILE} "
                f"(of update {kept[2]}: `jaxirl eval {run_dir}` evaluates it, and `jaxirl expert "
                f"{os.path.join(run_dir, 'config.yaml')} resume={run_dir} train.num_updates={last[0]}` finishes the "
                "run from it — its evaluation and demonstrations)")
    else:
        held = "no checkpoint (the first chunk diverged)"
    who = "every lane's PPO state" if lanes > 1 else "the PPO state"
    return Diverged(f"training diverged: non-finite values (NaN or inf) in {who} after update {updates_done}{where}. "
                    f"{run_dir} keeps {held}, and metrics.jsonl every update up to {updates_done}; training on would "
                    "repeat the same steps, so start a new run with changed settings (e.g. a smaller "
                    "ppo.learning_rate), or check the environment's observations")


def chunk_scores(returns: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per lane, from a chunk's ``(lanes, updates)`` training returns and episode lengths: the mean return over
    the updates at which some env had completed an episode (NaN if none had: ``episode_stats`` then reports 0,
    which is no return at all), and the score that picks the lane and the kept chunk — that mean, or −inf for a
    lane with no completed episode yet or a non-finite return (a diverged lane is never chosen)."""
    has = lengths > 0
    with np.errstate(invalid="ignore"):
        counted = np.where(has, returns, 0.0).sum(axis=1) / has.sum(axis=1)
    diverged = np.any(has & ~np.isfinite(returns), axis=1)
    means = np.where(has.any(axis=1), counted, np.nan)
    return means, np.where(np.isfinite(means) & ~diverged, means, -np.inf)


def _check(cfg: dict) -> None:
    if cfg["run"]["keep_checkpoints"] < 0:
        raise ValueError(f"run.keep_checkpoints: expected an int >= 0 (0: keep all), got {cfg['run']['keep_checkpoints']}")
    for key in ("num_updates", "log_every", "num_seeds"):
        if cfg["train"][key] < 1:
            raise ValueError(f"train.{key}: expected a positive int, got {cfg['train'][key]}")
    for key in ("num_episodes", "num_envs"):
        if cfg["demos"][key] < 1:
            raise ValueError(f"demos.{key}: expected a positive int, got {cfg['demos'][key]}")
    if not cfg["train"]["time_limit_s"] >= 0:  # NaN too (it would never stop the run)
        raise ValueError(f"train.time_limit_s: expected a number >= 0, got {cfg['train']['time_limit_s']}")
    from jaxirl.rl.ppo_config import check_anneal, traced_fields

    anneal, updates = cfg["ppo"]["anneal_lr_updates"], cfg["train"]["num_updates"]
    if cfg["resume"] is not None and 0 < anneal < updates:  # the schedule is the saved run's: not resumable
        raise ValueError(f"train.num_updates: this run's learning rate is annealed to 0 at update {anneal} "
                         f"(ppo.anneal_lr_updates, fixed for a resumed run), so it cannot train on to {updates} "
                         f"updates; expected <= {anneal}, or a new run with ppo.anneal_lr_updates >= {updates} "
                         f"or 0")
    check_anneal(anneal, updates, "ppo.anneal_lr_updates")
    check_seed("train.seed", cfg["train"]["seed"])
    check_folder("run.root", cfg["run"]["root"])
    io.check_prefix("run.prefix", cfg["run"]["prefix"])

    for name, values in cfg["train"]["sweep"].items():
        if name not in traced_fields():
            raise ValueError(f"train.sweep: {name!r} is not a traced PPO field; expected one of {traced_fields()}")
        if not isinstance(values, (list, tuple)) or len(values) != cfg["train"]["num_seeds"]:
            raise ValueError(f"train.sweep.{name}: expected a list of train.num_seeds = {cfg['train']['num_seeds']} "
                             f"values, got {values!r}")
        try:  # numbers, as the config's float keys take them (YAML 1.1 reads 1e-3, no dot, as a string)
            cfg["train"]["sweep"][name] = [coerce(f"train.sweep.{name}", 0.0, v) for v in values]
        except ValueError:
            raise ValueError(f"train.sweep.{name}: expected numbers, got {values!r}") from None
        for i, v in enumerate(cfg["train"]["sweep"][name]):  # each lane's value, named by its place in the list
            try:
                ppo_config({**cfg["ppo"], name: v})
            except ValueError as err:
                raise ValueError(f"train.sweep.{name}: value {i} ({v!r}) is refused: {err}") from None
    if cfg["train"]["sweep"] and cfg["train"]["num_seeds"] == 1:
        raise ValueError(f"train.sweep: with train.num_seeds = 1 there is one lane and nothing to sweep; set the "
                         f"ppo section's field instead (e.g. ppo.{next(iter(cfg['train']['sweep']))}=...)")
    from jaxirl.parallel import check_device_count

    check_device_count(cfg["run"]["devices"])
    run = cfg["train"]["reward_run"]
    if run is not None:
        if not isinstance(run, str) or not os.path.isdir(run):
            raise ValueError(f"train.reward_run: expected the folder of a `jaxirl train` run, got {run!r}")
        for key, ok in (("num_seeds", cfg["train"]["num_seeds"] == 1), ("keep_best", not cfg["train"]["keep_best"])):
            if not ok:
                raise ValueError(f"train.{key}: with train.reward_run the policy must not be chosen by its TRUE "
                                 f"return (the reward it learns from is the learned one); expected "
                                 f"{'1' if key == 'num_seeds' else 'false'}, got {cfg['train'][key]!r}")
    elif cfg["train"]["reward_which"] is not None:
        raise ValueError("train.reward_which: only with train.reward_run (the learned reward to train on)")
    if not isinstance(cfg["train"]["reward_absorbing"], bool):
        raise ValueError(f"train.reward_absorbing: expected true or false, got {cfg['train']['reward_absorbing']!r}")
    if cfg["demos"]["path"] is not None and not isinstance(cfg["demos"]["path"], str):
        raise ValueError(f"demos.path: expected a file path or null, got {cfg['demos']['path']!r}")
    if cfg["demos"]["path"]:  # written after training: a path that cannot be written is refused now
        if os.path.isdir(cfg["demos"]["path"]):
            raise ValueError(f"demos.path: {cfg['demos']['path']!r} is a folder; expected the path of a .npz file")
        check_folder("demos.path", os.path.dirname(os.path.abspath(cfg["demos"]["path"])))
    check_eval_section(cfg)  # before training, not after it


def make_chunk(config, env, progress_fn=None, reward_fn=None):
    """``chunk((state, env_state), keys) -> ((state, env_state), metrics)``: one PPO update per key on the
    env's true reward, or on ``reward_fn(transition, discount)`` (a learned one: the metrics' episode returns stay
    the true ones) (a ``lax.scan``); ``progress_fn(updates_done, metrics)`` is called from the scan."""
    from jaxirl.rl import ppo

    def one_update(carry, key):
        state, env_state = carry
        k_roll, k_upd = jax.random.split(key)
        env_state, ro = ppo.rollout(config, state, env, env_state, k_roll)
        reward = ro.transition.reward if reward_fn is None else reward_fn(ro.transition, config.discount)
        state, metrics = ppo.update(config, state, ro, reward, k_upd)
        metrics.update(ppo.episode_stats(env_state))
        metrics["reward_mean"] = jnp.mean(reward)
        metrics["true_reward_mean"] = jnp.mean(ro.transition.reward)
        if progress_fn is not None:
            jax.debug.callback(progress_fn, state.step, metrics)
        return (state, env_state), metrics

    def chunk(carry, keys):
        return jax.lax.scan(one_update, carry, keys)

    return chunk


def _transfer_scores(reward_run: str, evaluation: dict) -> dict:
    """The reward run's own normaliser (its summary's expert and random returns) applied to this policy's true
    returns: how well a fresh policy trained on the learned reward does, on the scale the run was scored on."""
    import json

    out = {"reward_run": reward_run}
    path = os.path.join(reward_run, "summary.json")
    if not os.path.isfile(path):
        return out
    with open(path, encoding="utf-8") as f:
        ref = json.load(f)
    expert, rand = ref.get("expert_return"), ref.get("random_return")
    if expert is None or rand is None or expert == rand:
        return out
    from jaxirl.metrics import normalized_score

    out.update(reward_run_score_det=ref.get("score_det"), expert_return_of_run=expert, random_return_of_run=rand,
               **{f"score_{k}": float(normalized_score(evaluation[f"return_{m}"], rand, expert))
                  for k, m in (("det", "deterministic"), ("stoch", "stochastic"))})
    return out


def main(config_path: str | None, overrides: Sequence[str] = ()) -> dict:
    """Run the job; returns the summary (also written to ``RUN_DIR/summary.json``)."""
    from jaxirl.data import collect_demos, env_metadata, save_demos
    from jaxirl.rl import ppo

    cfg = load_config(config_path, overrides, defaults())
    import_modules(cfg["imports"])  # before any name is looked up: they may register objectives and envs
    _check(cfg)
    resume = cfg["resume"]
    if resume is not None:
        io.check_resume(resume, cfg, defaults(), _RESUMABLE)
    from jaxirl.parallel import envs_mesh, pick_devices, replicate, shard_envs

    env = make_env(cfg["env"])
    devices = pick_devices(cfg["run"]["devices"], env.num_envs)
    config = ppo_config(cfg["ppo"], env)
    tcfg = cfg["train"]
    reward_fn = None
    if tcfg["reward_run"] is not None:  # reward transfer: PPO on a learned reward (checked against the env here)
        from jaxirl.jobs.train import load_transfer_reward

        try:
            reward_fn = load_transfer_reward(tcfg["reward_run"], tcfg["reward_which"], env, tcfg["reward_absorbing"])
        except ValueError as err:  # the reward's own field, `which`, is this job's train.reward_which
            raise ValueError(rename_field(err, "which", "train.reward_which")) from None
        if reward_fn.absorbing and cfg["ppo"]["discount"] >= 1.0:
            raise ValueError(f"ppo.discount: the transferred reward's absorbing state is worth r / (1 - discount) at "
                             f"a termination; expected a discount < 1, got {cfg['ppo']['discount']!r} (or "
                             f"train.reward_absorbing: false)")

    lanes = tcfg["num_seeds"]
    k_init, k_env, k_loop, _, k_demo = jax.random.split(jax.random.PRNGKey(tcfg["seed"]), 5)
    lane_keys = jax.random.split(k_loop, lanes)
    steps_per_update = config.num_steps * env.num_envs
    bar = ProgressBar(tcfg["num_updates"], desc=f"expert {env.name}", score_key="episode_return")

    def update_keys(first: int, n: int):
        """The keys of updates first .. first + n - 1: ``fold_in(lane key, update)``, whatever the chunking."""
        per_lane = jax.vmap(lambda k: jax.vmap(lambda u: jax.random.fold_in(k, u))(jnp.arange(first, first + n)))
        keys = per_lane(lane_keys)
        return keys[0] if lanes == 1 else keys

    if lanes == 1:  # lane i's keys are split(k, lanes)[i], the same for any count: a single run is lane 0
        carry = jax.jit(lambda k1, k2: (ppo.init(config, env, k1), env.reset(k2)))(
            jax.random.split(k_init, 1)[0], jax.random.split(k_env, 1)[0])
        chunk = jax.jit(make_chunk(config, env, bar.callback if cfg["run"]["progress"] else None, reward_fn))
        lane_config = config
    else:
        from jaxirl.rl.ppo_config import stack_lanes

        lane_config = stack_lanes(config, lanes, tcfg["sweep"])
        init = jax.vmap(lambda c, k1, k2: (ppo.init(c, env, k1), env.reset(k2)))
        carry = jax.jit(init)(lane_config, jax.random.split(k_init, lanes), jax.random.split(k_env, lanes))
        lane_chunk = jax.jit(jax.vmap(lambda c, carry, ks: make_chunk(c, env)(carry, ks)))
        chunk = lambda carry, ks: lane_chunk(lane_config, carry, ks)  # noqa: E731

    def lane_state(state, lane):
        return state if lanes == 1 else jax.tree.map(lambda x: x[lane], state)

    def loop_state(carry, kept, last_returns, final_returns, seconds):
        """What the loop carries from chunk to chunk, all of it in the checkpoint: the lanes' PPO and env states;
        the kept policy ``kept`` = (mean training return over its chunk, lane, updates done, that lane's PPO state),
        the best chunk's with keep_best, else the last chunk's (its best lane); the last chunk's mean and final
        training return per lane; the training seconds so far."""
        return {"carry": carry, "kept_return": np.float32(kept[0]), "kept_lane": np.int32(kept[1]),
                "kept_update": np.int32(kept[2]), "kept_state": kept[3],
                "last_returns": np.asarray(last_returns, np.float32),
                "final_returns": np.asarray(final_returns, np.float32), "seconds": np.float32(seconds)}

    zeros = np.zeros(lanes, np.float32)
    loop = loop_state(carry, (0.0, 0, 0, lane_state(carry[0], 0)), zeros, zeros, 0.0)
    start_update = 0
    if resume is not None:
        run_dir = resume
        loop, info = io.load_checkpoint(run_dir, loop)
        start_update = int(info["iteration"])
        if start_update > tcfg["num_updates"]:
            raise ValueError(f"resume: the checkpoint is at update {start_update}, beyond "
                             f"train.num_updates={tcfg['num_updates']}")
        io.write_config(run_dir, cfg)  # records a raised num_updates
        bar.start_at(start_update)
    else:
        run_dir = io.make_run_dir(cfg["run"]["root"], cfg["run"]["prefix"])
        io.write_config(run_dir, cfg)
    carry = loop["carry"]
    kept = None if start_update == 0 else (float(loop["kept_return"]), int(loop["kept_lane"]),
                                           int(loop["kept_update"]), loop["kept_state"])
    last_returns = np.asarray(loop["last_returns"])
    final_returns = np.asarray(loop["final_returns"])
    earlier_seconds = float(loop["seconds"])

    if len(devices) > 1:  # every lane's envs split over the devices, the PPO states copied to each
        mesh = envs_mesh(devices)
        carry = (replicate(carry[0], mesh), shard_envs(carry[1], mesh, runs=lanes > 1))
    with interruptible(run_dir):  # Ctrl-C from here on: the message names the run folder
        start = time.time()
        updates_done = start_update
        diverged_lanes: list = []  # (of this invocation: a resume notes the ones still diverged again)
        compile_seconds = None

        # chunks end on multiples of log_every (a resume from a short last chunk realigns), as in one run
        lengths = chunk_lengths(start_update, tcfg["num_updates"], tcfg["log_every"], aligned=True)
        note_extra_compiles("expert", lengths, "train.log_every", "train.num_updates")
        with io.MetricsWriter(os.path.join(run_dir, "metrics.jsonl"), truncate_after=start_update) as log, bar:
            i = start_update
            for n in lengths:
                t0 = time.time()
                carry, metrics = chunk(carry, update_keys(i, n))
                metrics = jax.device_get(metrics)
                if compile_seconds is None:
                    compile_seconds = time.time() - t0  # first chunk: compilation + one chunk
                per_lane = {k: np.asarray(v).reshape(lanes, -1) if lanes > 1 else np.asarray(v)[None]
                            for k, v in metrics.items()}
                n = per_lane["episode_return"].shape[1]
                updates_done = i + n
                finite = finite_lanes(carry[0], lanes)  # a lane whose PPO state is NaN / inf is never kept
                for dead in sorted(set(np.flatnonzero(~finite).tolist()) - set(diverged_lanes)):
                    diverged_lanes.append(dead)
                    swept = ", ".join(f"{k}={v[dead]!r}" for k, v in tcfg["sweep"].items())
                    print(f"jaxirl expert: note: lane {dead}{f' ({swept})' if swept else ''} diverged by update "
                          f"{updates_done} (its PPO state is not finite): it is no longer kept, nor averaged in "
                          "metrics.jsonl", file=sys.stderr)
                shown = finite if finite.any() else np.ones_like(finite)  # the lanes the log averages
                bar.update(updates_done, float(per_lane["episode_return"][shown, -1].max()))
                for j in range(n):
                    record = {"iteration": i + j + 1, "env_steps": (i + j + 1) * steps_per_update,
                              "wall_s": round(earlier_seconds + time.time() - start, 2)}
                    record.update({k: float(v[shown, j].mean()) for k, v in per_lane.items()})
                    if lanes > 1:
                        record["episode_return_per_seed"] = [float(x) for x in per_lane["episode_return"][:, j]]
                    log.write(record)
                last_returns, scores = chunk_scores(per_lane["episode_return"], per_lane["episode_length"])
                # the last update's return where some env had completed an episode (else NaN: null in summary.json)
                final_returns = np.where(per_lane["episode_length"][:, -1] > 0, per_lane["episode_return"][:, -1], np.nan)
                if not finite.any():  # nothing left to train or keep: stop before this chunk replaces a checkpoint
                    if kept is not None and io.latest_checkpoint(run_dir) is not None:
                        io.save_pytree(os.path.join(run_dir, POLICY_FILE), kept[3])  # the last finite kept policy
                    raise _diverged(run_dir, updates_done, n, lanes, metrics, kept)
                scores = np.where(finite, scores, -np.inf)
                lane = int(np.flatnonzero(finite)[np.argmax(scores[finite])])
                # (while no chunk has completed an episode, every score is −inf: the newest, most trained one is kept)
                if not tcfg["keep_best"] or kept is None or scores[lane] > kept[0] or kept[0] == -np.inf:
                    kept = (float(scores[lane]), lane, updates_done, lane_state(carry[0], lane))
                io.save_checkpoint(run_dir, updates_done, loop_state(carry, kept, last_returns, final_returns,
                                                                     earlier_seconds + time.time() - start))
                io.prune_checkpoints(run_dir, cfg["run"]["keep_checkpoints"])
                i = updates_done
                if tcfg["time_limit_s"] and time.time() - start > tcfg["time_limit_s"]:
                    break
        train_seconds = earlier_seconds + time.time() - start
        _, best, kept_update, state = kept
        if lanes > 1:
            for name, values in tcfg["sweep"].items():
                cfg["ppo"][name] = values[best]
            io.write_config(run_dir, cfg)
        io.save_pytree(os.path.join(run_dir, POLICY_FILE), state)
        records = io.read_metrics(os.path.join(run_dir, "metrics.jsonl"))
        io.plot_learning_curve(records, os.path.join(run_dir, "learning_curve.png"),
                               ["episode_return", "value_loss", "entropy"] + (["reward_mean"] if reward_fn else []),
                               title=f"PPO {'on a learned reward' if reward_fn else 'expert'} on {env.name}")

        ecfg = cfg["eval"]
        eval_env = make_env(cfg["env"], num_envs=ecfg["num_envs"])
        num_steps = ecfg["num_steps"] or None
        # from eval.seed, as `jaxirl eval RUN_DIR` evaluates: the summary (and the demonstrations' recorded evaluation) is
        # reproducible by it (the fourth key of the split, from train.seed, is unused: the others keep their places)
        evaluation = evaluate_policy(eval_env, config, state, jax.random.PRNGKey(ecfg["seed"]), num_steps)
        rand = evaluation["random_return"]

        dcfg = cfg["demos"]
        demo_env = make_env(cfg["env"], num_envs=min(dcfg["num_envs"], dcfg["num_episodes"]))
        if dcfg["deterministic"]:
            act_fn = jax.tree_util.Partial(lambda s, obs, key: ppo.act_deterministic(config, s, obs), state)
        else:
            act_fn = jax.tree_util.Partial(lambda s, obs, key: ppo.act(config, s, obs, key)[0], state)
        transitions, returns = collect_demos(demo_env, act_fn, k_demo, dcfg["num_episodes"])
        demos_path = dcfg["path"] or os.path.join(run_dir, "demos.npz")
        meta = {**env_metadata(demo_env), "expert_return": float(np.mean(returns)), "random_return": rand,
                "expert_run": os.path.basename(run_dir), "deterministic": bool(dcfg["deterministic"]),
                "ppo_updates": kept_update, "ppo_updates_run": updates_done, "env_kwargs": cfg["env"]["kwargs"],
                "device": jax.devices()[0].device_kind,
                "eval_return_deterministic": evaluation["return_deterministic"],
                "eval_return_stochastic": evaluation["return_stochastic"], "eval_episodes": evaluation["episodes"],
                "reward_run": tcfg["reward_run"], "imports": list(cfg["imports"])}  # (what makes the env)
        save_demos(demos_path, transitions, returns, meta)

        summary = {
            "run_dir": run_dir, "env": env.name, "demos_path": demos_path,
            "expert_return": float(np.mean(returns)), "expert_return_std": float(np.std(returns)),
            "num_episodes": int(returns.shape[0]), **evaluation,
            "final_train_return": float(final_returns[best]),
            "env_steps": updates_done * steps_per_update, "updates": updates_done, "kept_update": kept_update,
            "train_seconds": round(train_seconds, 2), "first_chunk_seconds": round(compile_seconds or 0.0, 2),
            "resumed_from": start_update if resume is not None else None,
            "num_seeds": lanes, "best_seed": best, "last_chunk_return_per_seed": [float(x) for x in last_returns],
            "sweep": {name: values[best] for name, values in tcfg["sweep"].items()},
            "diverged_lanes": sorted(diverged_lanes),
        }
        if tcfg["reward_run"] is not None:
            summary.update(_transfer_scores(tcfg["reward_run"], evaluation))
        io.write_json(os.path.join(run_dir, "summary.json"), summary)
        return summary
