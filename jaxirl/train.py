"""The composed adversarial IRL training step: generator × objective, one ``lax.scan`` per run.

One iteration (GAIL: Ho & Ermon 2016, Algorithm 1; AIRL: Fu et al. 2018, Algorithm 1):

1. roll out all envs for ``T`` steps with the current stochastic policy (true env reward recorded,
   never used for learning) and push the transitions into the replay ring buffer;
2. update the reward model's input normaliser (if enabled) with an expert batch and a policy batch;
3. ``K`` discriminator steps, each on a fresh expert batch (uniform over the demonstrations) and a fresh
   policy batch (uniform over the last ``replay_rollouts`` rollouts); AIRL's ``log π`` terms use the
   current policy, for expert and policy samples alike;
4. relabel the rollout with the updated learned reward and update the generator (PPO epochs, or an exact
   soft-VI re-solve that evaluates the reward on every one-hot ``(s, a, s')``).

Evaluation uses the TRUE reward: the mean episode return of the deterministic and of the stochastic policy
(``jaxirl.rl.evaluate``, the function) and the normalised score ``(R − R_random) / (R_expert − R_random)``,
with ``R_random`` (uniform random actions) measured once in ``init`` and ``R_expert`` from the demos'
metadata (or the mean return of the demonstrated episodes). It runs inside the scan every ``eval_every``
iterations (a ``lax.cond``); between evaluations the metrics repeat the last values (``eval_iteration``
says when they were measured; before the first evaluation, and throughout with ``eval_every = 0``, they are
NaN with ``eval_iteration = -1``); :meth:`Trainer.evaluate` evaluates on demand. Under ``jax.vmap(trainer.train)``
the iteration counter is shared by the lanes and the ``lax.cond`` stays a branch; vmapping ``trainer.run`` over a
batch of states batches the counter, and the cond becomes a select that evaluates at every iteration (same
results, slower: ``benchmarks/quality.py`` vmaps ``train`` for that reason).

Everything is pure: ``trainer.train`` can be ``jax.vmap``-ed over keys; ``trainer.run`` is jitted once per
``num_iterations`` (the demonstrations are an argument, not a baked-in constant). ``jax.jit(trainer.train)(key)``
closes over the demonstrations, so they become constants of the program (a 4 MB set: a 7.6 M-character HLO);
``jax.jit(trainer.train)(key, trainer.demos)`` passes them as an argument instead.
"""

from __future__ import annotations

import inspect

from typing import Any, Callable, Mapping, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxirl import bc as bc_lib
from jaxirl import nets
from jaxirl import reward as reward_lib
from jaxirl.data import env_metadata, flag_problem, float32_nonfinite, index_problem
from jaxirl.envs.base import Transition
from jaxirl.generators import make_generator
from jaxirl.objectives import discriminator as disc_lib
from jaxirl.objectives import absorbing as absorbing_lib
from jaxirl.objectives import get_objective, replay as replay_lib
from jaxirl.rl import ppo
from jaxirl.rl.evaluate import evaluate as evaluate_policy
from jaxirl.train_config import TrainConfig

EVAL_KEYS = ("return_det", "return_stoch", "score_det", "score_stoch")


@struct.dataclass
class TrainState:
    generator: Any
    reward: reward_lib.RewardParams
    disc_opt_state: Any
    env_state: Any
    replay: replay_lib.Replay
    key: jax.Array
    iteration: jax.Array  # int32, iterations done
    random_return: jax.Array  # true return of the uniform random policy (measured at init)
    last_eval: dict  # EVAL_KEYS + "eval_iteration"


def _flat(tree):
    return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), tree)


def check_demos(demos, env) -> Transition:
    """Validate an in-memory demonstration set (a ``Transition`` with leading ``(M,)``) against ``env``.

    An observation-only set (``action=None``, :func:`jaxirl.data.without_actions`) comes back with zero actions of
    the env's shape and dtype in their place, so that the expert batch has the policy batch's structure; the
    :class:`Trainer` made with it refuses whatever would read them (``expert_actions=False``). A set without rewards
    (``reward=None``) gets zeros likewise: no part of training reads the demonstrations' rewards (only the score's
    normaliser would, which must then be given: :func:`score_normaliser`)."""
    if not isinstance(demos, Transition):
        raise ValueError(f"demos: expected a jaxirl.envs.Transition (or (Transition, metadata)), got {type(demos).__name__}")
    obs = np.asarray(demos.obs)
    if obs.ndim != 2 or obs.shape[0] < 1 or obs.shape[1] != env.observation_size:
        raise ValueError(f"demos.obs: expected shape (M, {env.observation_size}) with M >= 1, got {obs.shape}")
    m = obs.shape[0]
    want = (m,) if env.discrete else (m, env.action_size)
    if demos.action is None:  # observation-only: placeholders nothing reads (checked by the Trainer)
        demos = demos.replace(action=np.zeros(want, np.int32 if env.discrete else np.float32))
    if demos.reward is None:  # no rewards recorded: placeholders (the trainer never reads the expert's rewards)
        demos = demos.replace(reward=np.zeros((m,), np.float32))
    act = np.asarray(demos.action)
    if act.shape != want and not (env.discrete and act.shape == (m, 1)):
        raise ValueError(f"demos.action: expected shape {want}, got {act.shape}")
    if env.discrete and not np.issubdtype(act.dtype, np.integer):
        raise ValueError(f"demos.action: a discrete env needs integer actions, got {act.dtype}")
    if env.discrete and (problem := index_problem(act, env.num_actions)):  # else log pi NaN, one-hot zeros: NaN run
        raise ValueError(f"demos.action: {problem}")
    for name in ("next_obs", "reward", "terminated", "truncated"):
        x = np.asarray(getattr(demos, name))
        shape = obs.shape if name == "next_obs" else (m,)
        if x.shape != shape:
            raise ValueError(f"demos.{name}: expected shape {shape}, got {x.shape}")
    if not env.discrete and not np.issubdtype(act.dtype, np.floating):
        raise ValueError(f"demos.action: a continuous env needs float actions, got {act.dtype}")
    for name in ("obs", "action", "next_obs", "reward", "terminated", "truncated"):  # the file's checks (jaxirl.data)
        if bad := float32_nonfinite(getattr(demos, name)):
            raise ValueError(f"demos.{name}: contains {bad} NaN/inf value(s) (as float32)")
    if problem := flag_problem(demos.terminated, demos.truncated):
        raise ValueError(f"demos: {problem}")
    # float32 as the trainer's own samples (integer or bool observations and flags would otherwise be cast to
    # their dtype where they meet the policy's samples, e.g. in the input normaliser's batch)
    demos = demos.replace(**{k: np.asarray(getattr(demos, k)).astype(np.float32)
                             for k in ("obs", "next_obs", "reward", "terminated", "truncated")})
    if env.discrete:  # (M, 1) indices become (M,): the shape every consumer (log π, input encoding) expects
        demos = demos.replace(action=act.reshape(m).astype(np.int32))
    else:
        demos = demos.replace(action=act.astype(np.float32))
    # via the host: uncommitted arrays, so a run placed on other devices (jaxirl.parallel) may take them
    return jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), demos)


def _expert_return(demos: Transition, metadata) -> float:
    """The metadata's ``expert_return``, else the mean return of the demonstrated complete episodes."""
    if metadata and metadata.get("expert_return") is not None:
        return float(metadata["expert_return"])
    if demos.reward is None:
        raise ValueError("expert_return: the demonstrations have no rewards (has_rewards: false) and their metadata no "
                         "expert_return, so the normalised score's 1 is unknown; give it (demos.expert_return, or "
                         "make_train's expert_return=)")
    ends = np.flatnonzero((np.asarray(demos.terminated) + np.asarray(demos.truncated)) > 0)
    if ends.size == 0:
        raise ValueError("expert_return: the demonstrations end no episode (no terminated or truncated step), so "
                         "their mean episode return is unknown; give expert_return (or complete episodes)")
    return float(np.asarray(demos.reward, np.float64)[: ends[-1] + 1].sum() / ends.size)  # no trailing partial one


class Trainer:
    """The pure functions of one configured run (see the module docstring).

    Attributes: ``config``, ``env``, ``eval_env``, ``objective``, ``generator``, ``model`` (the reward
    model), ``demos``, ``expert_return``, ``expert_actions`` (``False``: the demonstrations have no actions, and
    ``demos.action`` holds zeros that nothing reads). Methods: ``init(key)``, ``run(state, n)``, ``train(key)``,
    ``evaluate(state, key=None)``, ``reward_fn(state)``.
    """

    def __init__(self, config, env, demos, expert_return, eval_env, progress_fn, random_return=None,
                 expert_actions=True):
        self.config = config
        self.env = env
        self.eval_env = env if eval_env is None else eval_env
        self.objective = get_objective(config.algorithm)
        self.generator = make_generator(config.generator, env)
        if config.discriminator.absorbing:
            g = self.generator.discount
            if not isinstance(g, jax.core.Tracer) and np.any(np.asarray(g) >= 1.0):
                raise ValueError(
                    f"discriminator.absorbing: needs the generator's discount < 1 (the absorbing state is worth "
                    f"r / (1 - discount)), got discount {g!r}"
                )
        space = config.discriminator.log_pi_space
        if space != "action":
            head = ppo.resolve_head(config.generator, env) if isinstance(config.generator, ppo.PPOConfig) else None
            needs = {"pre_squash": "tanh_gaussian", "clipped": "gaussian"}[space]
            if not self.objective.uses_log_prob or head != needs:
                raise ValueError(
                    f"discriminator.log_pi_space: {space!r} needs AIRL with a {needs} PPO policy "
                    f"(ppo.policy_head: {needs}), got algorithm {config.algorithm!r}, policy head {head!r}"
                )
        self.model = disc_lib.make_model(config.discriminator, self.objective, env)
        self.reward_type = config.discriminator.resolved_reward_type(self.objective)
        # a reward kind or objective of one's own: its outputs' shapes, before anything compiles
        reward_lib.check_kind(self.model)
        disc_lib.check_objective(self.objective, self.model, self.reward_type, self.generator.maxent)
        self.demos = demos
        self.expert_return = expert_return
        self.random_return = random_return
        self.progress_fn = progress_fn
        self._bc_term = bc_lib.has_term(config.bc)
        self.expert_actions = bool(expert_actions)
        if not self.expert_actions:
            self._check_without_actions()
        limit = self.eval_env.episode_length
        if 0 < config.eval_steps < limit:  # as the jobs refuse it: no episode may end inside it (NaN scores)
            raise ValueError(f"eval_steps: expected 0 (one episode length) or a window of at least the evaluation "
                             f"env's episode_length = {limit} steps, got {config.eval_steps}")
        self.eval_steps = config.eval_steps or limit
        self._run_jit = jax.jit(self._run, static_argnums=2)
        self._init_jit = jax.jit(self._init)
        self._evaluate_jit = jax.jit(self._evaluate)
        self._train_jit = jax.jit(lambda key, demos: self._run(self._init(key, demos), demos, self.config.num_iterations))

    def _check_without_actions(self) -> None:
        """Demonstrations without actions (learning from observation, Torabi et al. 2018): refuse, by name, every
        part of the run that reads the expert's actions — AIRL's ``log π(a_E|s)``, a discriminator of ``(s, a)``,
        behavioural cloning — and an objective or reward kind of one's own whose expert-side logit (or score, which
        the gradient penalty differentiates) depends on them (:func:`jaxirl.objectives.discriminator.reads_actions`)."""
        cfg, name = self.config, self.config.algorithm
        why = ("the demonstrations have no actions (an observation-only file, or actions dropped: demos.drop_actions, "
               "jaxirl.data.without_actions); train what never reads them: GAIL with discriminator.inputs ss (GAIfO, "
               "Torabi et al. 2018) or s")
        if self.objective.uses_log_prob:
            raise ValueError(f"algorithm: {name!r} reads log π(a|s) of the expert's actions in its discriminator "
                             f"(AIRL's D = exp f / (exp f + π)), but {why}")
        if "a" in self.model.inputs:
            given = cfg.discriminator.inputs
            named = repr(given) if given == self.model.inputs else f"{given!r} ({self.model.inputs!r} for {name!r})"
            raise ValueError(f"discriminator.inputs: {named} gives the discriminator the expert's actions, but {why}")
        if cfg.bc.steps > 0 or self._bc_term:
            field = "bc.steps" if cfg.bc.steps > 0 else "bc.coef"
            raise ValueError(f"{field}: behavioural cloning fits the expert's actions, but {why} (set {field} to 0)")
        if (what := disc_lib.reads_actions(self.objective, self.model, self.generator.discount)) is not None:
            raise ValueError(f"algorithm: {what} of {name!r} reads the expert's actions, but {why}")

    # ----------------------------------------------------------------------------------------- pieces
    def _random_action(self, obs, key):
        n = obs.shape[0]
        if self.eval_env.discrete:
            return jax.random.randint(key, (n,), 0, self.eval_env.num_actions)
        return jax.random.uniform(key, (n, self.eval_env.action_size), minval=-1.0, maxval=1.0)

    def _score(self, ret, random_return):
        return (ret - random_return) / (self.expert_return - random_return)

    def _evaluate(self, gen_state, random_return, key, iteration):
        # The deterministic (mode) and stochastic (sampled) evaluations are ONE episode loop vmapped over a
        # policy index: the env step appears once in the compiled program (with Brax's generalized backend
        # every copy of the physics costs tens of seconds of compilation) and both run side by side.
        gen = self.generator

        def run(mode, k):
            def act(o, kk):
                det = gen.act_deterministic(gen_state, o)
                return jnp.where(mode == 0, det, gen.act(gen_state, o, kk)[0].astype(det.dtype))

            return evaluate_policy(self.eval_env, act, k, self.eval_steps)["mean_return"]

        r = jax.vmap(run)(jnp.arange(2), jax.random.split(key))
        r_det, r_sto = r[0], r[1]
        return {
            "return_det": r_det,
            "return_stoch": r_sto,
            "score_det": self._score(r_det, random_return),
            "score_stoch": self._score(r_sto, random_return),
            "eval_iteration": jnp.asarray(iteration, jnp.int32),
        }

    def _log_pi(self, gen_state, obs, action, log_pi=None, raw=None):
        """AIRL's ``log π(a|s)`` in the configured space (``discriminator.log_pi_space``). ``raw``: the policy's
        own draw behind ``action`` (a rollout's ``raw_action``; for demonstrations ``None``, worked back from the
        action); ``log_pi``: the action-space value when already known (the rollout's)."""
        space = self.config.discriminator.log_pi_space
        if space == "clipped":  # a Gaussian PPO policy (checked at init); the env clips actions to [-1, 1]
            return nets.clipped_log_prob(ppo.policy_output(self.config.generator, gen_state, obs), action)
        if raw is None:
            raw = self.generator.raw_action(action)
        if log_pi is None:
            log_pi = self.generator.raw_log_prob(gen_state, obs, raw)
        if space == "pre_squash":  # a tanh-Gaussian PPO policy (checked at init): the Gaussian density of u
            log_pi = log_pi + nets.raw_squash_log_det("tanh_gaussian", raw)
        return log_pi

    def entropy_weight_at(self, iteration) -> jax.Array:
        """AIRL's β at ``iteration`` (iterations done): ``discriminator.entropy_weight``, or with
        ``entropy_anneal_iterations`` N > 0 linearly from 1 at iteration 0 to it at iteration N and after."""
        disc = self.config.discriminator
        n = disc.entropy_anneal_iterations
        if n <= 0:
            return disc.entropy_weight
        beta = jnp.asarray(disc.entropy_weight, jnp.float32)
        return beta + (1.0 - beta) * jnp.clip(1.0 - jnp.asarray(iteration, jnp.float32) / n, 0.0, 1.0)

    def _reward_of(self, params, gen_state, iteration=0):  # (iterations done: where an annealed β stands)
        model = self.model
        beta = self.entropy_weight_at(iteration)

        def reward_of(obs, action, next_obs, terminated, log_pi, raw=None):
            inputs = reward_lib.encode(model, obs, action, next_obs, terminated)
            if log_pi is not None:
                log_pi = self._log_pi(gen_state, obs, action, log_pi, raw)
            r = self.objective.generator_reward(
                model, params, inputs, log_pi, self.generator.discount, self.reward_type, self.generator.maxent, beta,
            )
            if model.absorbing:  # the value of the absorbing state that follows a termination (DAC)
                r_abs = self.objective.absorbing_reward(reward_lib.absorbing_score(model, params), self.reward_type)
                r = r + absorbing_lib.terminal_bonus(r_abs, inputs.terminated, self.generator.discount)
            return r

        return reward_of

    # --------------------------------------------------------------------------------------- public API
    def init(self, key: jax.Array) -> TrainState:
        """Fresh generator (behaviourally cloned from the demos when ``config.bc.steps > 0``), reward model,
        discriminator optimiser, envs and replay buffer; measures ``R_random``."""
        return self._init_jit(key, self.demos if self.config.bc.steps > 0 else None)

    def _init(self, key: jax.Array, demos: Optional[Transition] = None) -> TrainState:
        k_gen, k_rew, k_env, k_eval, k_state = jax.random.split(key, 5)
        gen_state = self.generator.init(k_gen)
        if self.config.bc.steps > 0:  # warm start (jaxirl.bc); its own key, so the rest of init is unchanged:
            # fold_in(key, 5) — the 5-way split above takes 0-4 (fold_in(k, i) is split(k, n)[i] under JAX's
            # partitionable threefry, so fold_in(k_gen, 1), used until the evening of 2026-11-28, was the critic's init key)
            gen_state, _ = bc_lib.fit(self.config.bc, self.config.generator, gen_state, demos.obs, demos.action,
                                      jax.random.fold_in(key, 5))
        params = reward_lib.init(self.model, k_rew)
        # (a plain reset(key) unless asked: envs of the user's own may not take the keyword)
        env_state = self.env.reset(k_env, stagger=True) if self.config.stagger_resets else self.env.reset(k_env)
        def stored(s, e, k):  # what the replay buffer keeps of a rollout (see _iteration)
            ro = self.generator.rollout(s, e, k)[1]
            return ro.transition, ro.raw_action

        shapes = jax.eval_shape(stored, gen_state, env_state, k_eval)
        example = jax.tree.map(lambda s: jnp.zeros((s.shape[0] * s.shape[1],) + s.shape[2:], s.dtype), shapes)
        if self.random_return is None:
            random_return = evaluate_policy(self.eval_env, self._random_action, k_eval, self.eval_steps)["mean_return"]
        else:  # given (e.g. recorded with the demonstrations): no random-policy rollout to compile and run
            random_return = jnp.asarray(self.random_return, jnp.float32)
        nan = jnp.full((), jnp.nan, jnp.float32)
        last_eval = {k: nan for k in EVAL_KEYS}
        last_eval["eval_iteration"] = jnp.asarray(-1, jnp.int32)
        return TrainState(
            generator=gen_state,
            reward=params,
            disc_opt_state=disc_lib.optimizer(self.config.discriminator).init(params.net),
            env_state=env_state,
            replay=replay_lib.create(example, self.config.discriminator.replay_rollouts),
            key=k_state,
            iteration=jnp.zeros((), jnp.int32),
            random_return=random_return,
            last_eval=last_eval,
        )

    def _iteration(self, state: TrainState, demos: Transition):
        gen, model, objective = self.generator, self.model, self.objective
        dcfg = self.config.discriminator
        key, k_roll, k_norm, k_disc, k_gen, k_eval = jax.random.split(state.key, 6)
        env_state, ro = gen.rollout(state.generator, state.env_state, k_roll)
        # the policy's samples with the draws behind their actions (exact log π for AIRL: nets.sample_raw)
        buffer = replay_lib.add(state.replay, _flat((ro.transition, ro.raw_action)))
        num_demos = demos.obs.shape[0]

        def batches(k):
            """An expert batch, a policy batch and the policy batch's draws."""
            k_e, k_p = jax.random.split(k)
            idx = jax.random.randint(k_e, (dcfg.expert_batch_size,), 0, num_demos)
            p, p_raw = replay_lib.sample(buffer, k_p, dcfg.policy_batch_size)
            return jax.tree.map(lambda x: x[idx], demos), p, p_raw

        params = state.reward
        if model.normalize:
            e, p, _ = batches(k_norm)
            both = jax.tree.map(lambda a, b: jnp.concatenate([a, b.astype(a.dtype)]), e, p)
            params = reward_lib.update_norm(model, params, reward_lib.encode_transition(model, both))

        def disc_step(carry, k):
            params, opt_state = carry
            k_b, k_pen = jax.random.split(k)
            e, p, p_raw = batches(k_b)
            e_lp = p_lp = None
            if objective.uses_log_prob:
                e_lp = self._log_pi(state.generator, e.obs, e.action)
                p_lp = self._log_pi(state.generator, p.obs, p.action, raw=p_raw)
            params, opt_state, m = disc_lib.step(
                objective, model, dcfg, params, opt_state,
                reward_lib.encode_transition(model, e), reward_lib.encode_transition(model, p),
                e_lp, p_lp, gen.discount, k_pen,
            )
            return (params, opt_state), m

        (params, opt_state), dm = jax.lax.scan(
            disc_step, (params, state.disc_opt_state), jax.random.split(k_disc, dcfg.num_steps)
        )
        metrics = {k: v[-1] for k, v in dm.items()}  # after the last discriminator step's inputs
        tr = ro.transition
        reward_of = self._reward_of(params, state.generator, state.iteration)
        learned = reward_of(tr.obs, tr.action, tr.next_obs, tr.terminated, ro.log_prob, ro.raw_action)
        bc = None
        if self._bc_term:  # behavioural-cloning term in the generator's loss (jaxirl.bc)
            bc = (demos.obs, demos.action, bc_lib.term_weight(self.config.bc, state.iteration))
        gen_state, gm = gen.update(state.generator, ro, reward_of, k_gen, bc)
        metrics.update({f"gen_{k}": v for k, v in gm.items()})
        metrics.update(
            learned_reward_mean=jnp.mean(learned),
            true_reward_mean=jnp.mean(tr.reward),
            **{f"train_{k}": v for k, v in ppo.episode_stats(env_state).items()},
        )
        size = getattr(self.env, "reset_pool", 0)
        if size and getattr(env_state, "pool_drawn", None) is not None:
            # the share of this rollout's restarts that reused a pool state (the pool was refilled at its start):
            # above 0, env.reset_pool is smaller than the episodes that end in a rollout
            drawn = env_state.pool_drawn
            reused = jnp.maximum(drawn - size, 0).astype(jnp.float32)
            metrics["train_reset_pool_reused"] = reused / jnp.maximum(drawn, 1).astype(jnp.float32)
        it = state.iteration + 1
        last_eval = state.last_eval
        if self.config.eval_every > 0:
            last_eval = jax.lax.cond(
                it % self.config.eval_every == 0,
                lambda: self._evaluate(gen_state, state.random_return, k_eval, it),
                lambda: state.last_eval,
            )
        metrics.update(last_eval)
        metrics["iteration"] = it
        new_state = state.replace(
            generator=gen_state, reward=params, disc_opt_state=opt_state, env_state=env_state,
            replay=buffer, key=key, iteration=it, last_eval=last_eval,
        )
        if self.progress_fn is not None:
            jax.debug.callback(self._progress, it, metrics)
        return new_state, metrics

    def _progress(self, iteration, metrics):
        # Hand the user plain numpy values: computing on the callback's jax.Array arguments (e.g. float()
        # of a slice under vmap) from inside the callback can deadlock the CPU runtime.
        self.progress_fn(np.asarray(iteration), {k: np.asarray(v) for k, v in metrics.items()})

    def _run(self, state: TrainState, demos: Transition, num_iterations: int):
        return jax.lax.scan(lambda s, _: self._iteration(s, demos), state, None, length=num_iterations)

    def run(self, state: TrainState, num_iterations: int):
        """``num_iterations`` iterations (jitted ``lax.scan``); returns ``(state, metrics stacked over iterations)``."""
        if isinstance(num_iterations, bool) or not isinstance(num_iterations, int) or num_iterations < 1:
            raise ValueError(f"num_iterations: expected a positive int, got {num_iterations!r}")
        return self._run_jit(state, self.demos, num_iterations)

    def train(self, key: jax.Array, demos: Optional[Transition] = None):
        """``init(key)`` then ``config.num_iterations`` iterations; pure (``jax.vmap``/``jax.jit`` over keys work).
        Jitted, and compiled once per trainer for direct calls (a new ``jax.jit(trainer.train)`` wrapper compiles
        anew each time it is made: make it once and reuse it, e.g. ``train = jax.jit(jax.vmap(trainer.train))``).

        ``demos``: the trainer's own demonstrations by default; pass ``trainer.demos`` (or arrays of the same shapes
        and dtypes) through ``jax.jit`` to keep a large set an argument of the program rather than a constant."""
        if demos is None:
            demos = self.demos
        else:
            want = jax.tree.map(lambda x: (x.shape, x.dtype), self.demos)
            got = jax.tree.map(lambda x: (x.shape, x.dtype), demos)
            if jax.tree.structure(demos) != jax.tree.structure(self.demos) or want != got:
                raise ValueError(f"demos: expected the trainer's demonstrations' shapes and dtypes {want}, got {got}")
        return self._train_jit(key, demos)

    def evaluate(self, state: TrainState, key: Optional[jax.Array] = None) -> dict:
        """True-reward returns and normalised scores of the current policy (deterministic and stochastic).
        ``state``: one run's; for vmapped runs ``jax.vmap(trainer.evaluate)(states)``."""
        # default: fold_in(state.key, 6), a key no iteration takes (its 6-way split of state.key takes 0-5)
        key = jax.random.fold_in(state.key, 6) if key is None else key
        return self._evaluate_jit(state.generator, state.random_return, key, state.iteration)

    def reward_fn(self, state: TrainState, which: Optional[str] = None) -> Callable:
        """The learned reward as a plain callable ``(obs, action, next_obs=None) -> reward`` (AIRL: ``g``; GAIL: by
        default the form its generator was trained with, ``discriminator.reward_type`` — as
        :func:`jaxirl.load_reward` returns from the run folder — or ``which``). ``state``: one run's; for vmapped
        runs ``jax.vmap(lambda s, o, a, n: trainer.reward_fn(s)(o, a, n))(states, obs, act, next_obs)``, or one lane
        ``jax.tree.map(lambda x: x[i], states)``."""
        if which is None and reward_lib.is_logit_network(self.model):
            which = reward_lib.default_which(self.reward_type, f"the objective {self.config.algorithm!r}",
                                             self.model.kind)
        return reward_lib.reward_fn(self.model, state.reward, which, self.generator.discount)


def make_train(
    config: TrainConfig,
    env,
    demos,
    *,
    expert_return: Optional[float] = None,
    eval_env=None,
    progress_fn: Optional[Callable] = None,
    random_return: Optional[float] = None,
) -> Trainer:
    """Validate everything in Python and return a :class:`Trainer`.

    ``demos``: a ``Transition`` with leading ``(M,)`` or ``(Transition, metadata)`` as returned by
    ``jaxirl.data.load_demos``; its ``action`` may be ``None`` (an observation-only set: then only what never reads
    the expert's actions trains, e.g. GAIL with ``discriminator.inputs="ss"``, GAIfO), and its ``reward`` ``None`` (a set
    without rewards: then ``expert_return`` must be given or in the metadata); ``expert_return`` defaults to
    ``metadata["expert_return"]`` or the demos' mean episode return. ``eval_env``: env for evaluation (default
    ``env``). ``progress_fn(iteration, metrics)`` is called every iteration through ``jax.debug.callback`` with numpy values (under
    ``jax.vmap`` once per batch element). ``random_return``: the uniform random policy's true return, the
    0 of the normalised score; defaults to ``metadata["random_return"]`` (which ``jaxirl expert`` records,
    measured on the same env), else it is measured in ``init`` (one evaluation episode loop: with Brax's
    generalized backend a program of its own to compile) from ONE episode per evaluation env — with few eval
    envs a noisy 0 for every score (8 envs of a small env: 7.5 to 26.3 over keys, against 17.6 over 4096
    episodes); pass an ``eval_env`` with more envs, or ``random_return``, for a steady normaliser.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config: expected a jaxirl.train_config.TrainConfig, got {type(config).__name__}")
    config.validate()
    metadata = None
    if isinstance(demos, tuple) and len(demos) == 2 and not isinstance(demos, Transition):
        demos, metadata = demos
        if metadata is not None and not isinstance(metadata, Mapping):
            hint = (" — collect_demos returns (Transition, episode returns): pass its Transition alone, or with "
                    "{'expert_return': float(returns.mean())}") if isinstance(metadata, (np.ndarray, jax.Array)) else ""
            raise ValueError(f"demos: expected a Transition or (Transition, metadata dict), got (Transition, "
                             f"{type(metadata).__name__}){hint}")
    expert_actions = getattr(demos, "action", 0) is not None
    expert_rewards = getattr(demos, "reward", 0) is not None
    if not expert_actions and metadata:  # no action array to show the kind: the metadata's record must fit the env
        has = env_metadata(env)
        for field in ("discrete", "action_size", "num_actions"):
            if metadata.get(field) is not None and metadata[field] != has[field]:
                raise ValueError(f"demos: the observation-only set records {field}={metadata[field]!r} but the env "
                                 f"has {field}={has[field]!r}")
    demos = check_demos(demos, env)
    if eval_env is not None and (
        eval_env.observation_size != env.observation_size or eval_env.discrete != env.discrete
        or eval_env.action_size != env.action_size
    ):
        raise ValueError(f"eval_env: must have the spaces of env {env!r}, got {eval_env!r}")
    if config.stagger_resets and "stagger" not in inspect.signature(env.reset).parameters:
        raise ValueError(f"stagger_resets: the env's reset(key) takes no `stagger` argument ({env!r}); "
                         "wrap it in jaxirl.envs.VecEnv, or set stagger_resets=False")
    if progress_fn is not None and not callable(progress_fn):
        raise ValueError(f"progress_fn: expected a callable or None, got {progress_fn!r}")
    expert_return, random_return = score_normaliser(demos if expert_rewards else demos.replace(reward=None), metadata,
                                                    expert_return, random_return)
    return Trainer(config, env, demos, expert_return, eval_env, progress_fn, random_return, expert_actions)


def _finite_scalar(field: str, value) -> float:
    """``value`` as a float when it is one finite real number (Python, NumPy or a concrete JAX scalar)."""
    try:
        a = np.asarray(value)
    except Exception:  # noqa: BLE001 — e.g. a tracer: not a number known before compiling
        a = np.asarray(None)
    if isinstance(value, bool) or a.shape != () or a.dtype == bool or not np.issubdtype(a.dtype, np.number) \
            or np.iscomplexobj(a) or not np.isfinite(a):
        raise ValueError(f"{field}: expected a finite number or None, got {value!r}")
    return float(a)


def score_normaliser(demos: Transition, metadata, expert_return: Optional[float] = None,
                     random_return: Optional[float] = None) -> tuple[float, Optional[float]]:
    """``(R_expert, R_random)`` of the normalised score ``(R − R_random) / (R_expert − R_random)``: the given
    values, else ``metadata["expert_return"]`` (or the demos' mean episode return) and
    ``metadata["random_return"]`` (``None`` when neither is known: measure it). Raises ``ValueError`` for a
    non-finite random return or one equal to the expert's."""
    if expert_return is None:
        expert_return = _expert_return(demos, metadata)
    field = "random_return"
    if random_return is None and metadata and metadata.get("random_return") is not None:
        random_return, field = metadata["random_return"], "random_return (from the demonstrations' metadata)"
    expert_return = _finite_scalar("expert_return", expert_return)
    if random_return is not None:
        random_return = _finite_scalar(field, random_return)
        if random_return == expert_return:
            raise ValueError(f"{field}: equals expert_return ({expert_return}); the normalised score "
                             "(R - R_random) / (R_expert - R_random) would divide by zero")
    return float(expert_return), random_return
