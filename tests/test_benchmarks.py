"""The GPU expert script runs end to end (tiny pointmass settings), so a GPU session can rely on it."""

import importlib
import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxirl.data import load_demos

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _benchmark(name):
    """Import ``benchmarks/<name>.py`` (the benchmarks are scripts, not a package)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_experts_script_trains_records_and_reports(tmp_path):
    experts = _benchmark("experts")
    report = tmp_path / "experts.md"
    experts.main(["--envs", "pointmass", "--out", str(tmp_path / "demos"), "--runs", str(tmp_path / "runs"),
                  "--output", str(report), "env.num_envs=4", "env.episode_length=10", "ppo.num_steps=10",
                  "ppo.num_minibatches=2", "ppo.update_epochs=1", "ppo.hidden=[16]", "train.num_updates=2",
                  "train.log_every=1", "demos.num_episodes=2", "demos.num_envs=2", "eval.num_envs=2"])
    _, meta = load_demos(str(tmp_path / "demos" / "pointmass.npz"))
    text = report.read_text()
    row = [line for line in text.splitlines() if line.startswith("| pointmass |")]
    assert len(row) == 1 and f"{meta['expert_return']:.0f} ±" in row[0]
    assert "- pointmass (training episode return" in text
    # --resume trains the same run folder on (a GPU call cut by its time limit continues in the next one)
    experts.main(["--envs", "pointmass", "--out", str(tmp_path / "demos"), "--runs", str(tmp_path / "runs"),
                  "--output", str(report), "--resume", "train.num_updates=3"])
    assert len(os.listdir(tmp_path / "runs")) == 2                                 # one run folder + its log
    row = [line for line in report.read_text().splitlines() if line.startswith("| pointmass |")]
    assert len(row) == 1 and "(resumed at update 2)" in row[0]
    _, meta = load_demos(str(tmp_path / "demos" / "pointmass.npz"))
    assert meta["ppo_updates_run"] == 3
    with pytest.raises(SystemExit, match="no run folder expert-hopper"):
        experts.main(["--envs", "hopper", "--runs", str(tmp_path / "runs"), "--resume"])


# tiny pointmass GAIL settings shared by the quality tests (identical programs: the second test's compiles
# come from the suite's persistent compilation cache)
TINY_QUALITY = ["env.num_envs=4", "ppo.num_steps=10", "ppo.num_minibatches=2", "ppo.update_epochs=1",
                "ppo.hidden=[16]", "discriminator.hidden=[16]", "discriminator.num_steps=1",
                "discriminator.expert_batch_size=16", "discriminator.policy_batch_size=16",
                "train.num_iterations=10", "train.eval_every=2", "eval.num_envs=4"]


def test_quality_script_time_limited_chunks_wait_and_report(tmp_path):
    """``quality.py --time-limit``: vmapped seeds trained chunk by chunk, stopped by the wall-clock budget,
    waiting for ``--wait-for`` first, with the learning curve in the report."""
    quality = _benchmark("quality")
    barrier = tmp_path / "go"
    barrier.write_text("")
    report = tmp_path / "quality.md"
    quality.main(["--envs", "pointmass", "--algorithms", "gail", "--seeds", "2", "--time-limit", "1e-6",
                  "--chunk", "2", "--wait-for", str(barrier), "--output", str(report), *TINY_QUALITY])
    text = report.read_text()
    row = [line.split("|") for line in text.splitlines() if line.startswith("| pointmass | gail |")]
    assert len(row) == 1
    cells = [c.strip() for c in row[0]]
    assert cells[3] == "2" and cells[4] == "2"  # 2 seeds; stopped after the first chunk of 2 iterations
    assert cells[5] == f"{2 * 10 * 4:,}"  # env steps = iterations x T x num_envs
    assert -10.0 < float(cells[6]) < 10.0  # a real (finite) score from the evaluation program
    assert cells[9] == f"{float(cells[6]):.3f} at {float(cells[10]):.1f} s"  # one evaluation: best = final
    assert float(cells[13]) >= 0.0  # evaluation seconds, apart from the training seconds
    assert "- pointmass gail (init " in text and " s/2: " in text
    # the chunk's training diagnostics: episode length, D(policy), true reward per step (pointmass: no absorbing)
    diag = text.split("Training diagnostics")[1].split(
        "- pointmass gail (episode length / D(policy) / true reward per step): ")[1].splitlines()[0]
    length, d_policy, true_reward = (float(v) for v in diag.removeprefix("2: ").split(" / "))
    assert length >= 0 and 0.0 <= d_policy <= 1.0 and math.isfinite(true_reward)  # 0: no episode ended yet
    gib = float(text.split("Memory of the training program")[1].split("pointmass gail ")[1].split(" GiB")[0])
    assert 0 < gib < 1  # the chunk program of 2 seeds × 4 pointmass envs: a few MB
    # bad arguments: clear errors before anything compiles
    for bad in (["--time-limit", "-1"], ["--chunk", "-2", "--time-limit", "1"], ["--chunk", "2"]):
        with pytest.raises(SystemExit):
            quality.main(["--envs", "pointmass", "--output", str(tmp_path / "bad.md")] + bad)
    quality.main(["--envs", "pointmass", "--algorithms", "gail", "--time-limit", "1", "--chunk", "3",
                  "--output", str(tmp_path / "skip.md"), "train.num_iterations=10"])
    assert "skipped: --chunk: expected a positive divisor of train.num_iterations (10), got 3" in \
        (tmp_path / "skip.md").read_text()


def test_quality_seeds_one_at_a_time_equal_the_vmapped_seeds(tmp_path):
    """``quality.py --time-limit --one-at-a-time``: the program compiled for one seed trains each seed alone, in
    turn, from the same keys as the vmapped run, so the seeds' scores equal the vmapped run's; the row
    aggregates them (mean, worst, curve at the seeds' mean seconds) and the report says how the seeds ran."""
    quality = _benchmark("quality")
    args = ("pointmass", "gail", 2, TINY_QUALITY + ["train.num_iterations=4"], 1e9, 2)
    vmapped = quality.run_timed(*args)
    rows = []
    alone = quality.run_timed(*args, on_chunk=rows.append, one_at_a_time=True)
    assert vmapped["iterations"] == alone["iterations"] == 4 and alone["seeds"] == 2  # 2 chunks each
    for k in ("final_det", "worst_det", "final_stoch", "best_det"):
        assert alone[k] == pytest.approx(vmapped[k], abs=1e-4), k
    assert [c[1] for c in alone["curve"]] == [c[1] for c in vmapped["curve"]] == [2, 4]
    assert [c[2] for c in alone["curve"]] == pytest.approx([c[2] for c in vmapped["curve"]], abs=1e-3)
    # on_chunk: seed 0's chunks while it trains, then the finished seeds
    assert [r["seeds"] for r in rows] == [1, 1, 2] and rows[-1]["final_det"] == alone["final_det"]
    assert alone["eval_s"] > 0 and len(alone["diagnostics"]) == 2
    # the init call (where a BC warm start runs) is training time: the first chunk's seconds include it
    assert alone["init_s"] > 0 and alone["curve"][0][0] >= round(alone["init_s"], 1)
    report = tmp_path / "q.md"
    quality.write_report(str(report), [vmapped, alone], ["--one-at-a-time"])
    lines = [line for line in report.read_text().splitlines() if line.startswith("| pointmass | gail |")]
    assert [line.split("|")[3].strip() for line in lines] == ["2", "2 one at a time"]
    with pytest.raises(SystemExit):  # chunked runs only
        quality.main(["--envs", "pointmass", "--one-at-a-time", "--output", str(tmp_path / "bad.md")])


def test_quality_row_best_score_is_the_peak_of_the_seed_mean_curve():
    """The report's 'best (det)': the highest seed-mean deterministic score of any evaluation and the training
    seconds at it — chunked (times from the curve) or one whole-run program (per-iteration columns carrying the
    last evaluation forward, NaN before the first; seconds spread evenly)."""
    quality = _benchmark("quality")
    from types import SimpleNamespace
    config = SimpleNamespace(generator=SimpleNamespace(num_steps=10))
    env, trainer = SimpleNamespace(num_envs=4), SimpleNamespace(expert_return=1.0)
    det = np.array([[0.1, 0.9, 0.5], [0.3, 0.7, 0.4]])  # seed means 0.2, 0.8, 0.45: peak at the 2nd chunk
    curve = [(5.0, 2, 0.2), (10.0, 4, 0.8), (15.0, 6, 0.45)]
    row = quality._row("e", "gail", 2, config, env, trainer, det, det - 0.1, 6, 1.0, 15.0, None, curve)
    assert row["best_det"] == pytest.approx(0.8) and row["best_at_s"] == 10.0
    assert row["final_det"] == pytest.approx(0.45) and row["worst_det"] == pytest.approx(0.4)
    whole = np.array([[np.nan, -0.5, -0.5, -0.2], [np.nan, -0.3, -0.3, -0.4]])  # negative scores: no 0 filler wins
    row = quality._row("e", "gail", 2, config, env, trainer, whole, whole, 4, 1.0, 8.0, None, [])
    assert row["best_det"] == pytest.approx(-0.3) and row["best_at_s"] == pytest.approx(8.0)
    row = quality._row("e", "gail", 1, config, env, trainer, np.full((1, 2), np.nan), np.full((1, 2), np.nan),
                       2, 1.0, 2.0, None, [])
    assert row["best_det"] is None and row["best_at_s"] is None  # never evaluated: no best
    assert row["algorithm"] == "gail"
    config.algorithm = "gail_ln"  # train.algorithm overridden (an objective of one's own): the row says which
    assert quality._row("e", "gail", 2, config, env, trainer, det, det, 6, 1.0, 15.0, None, curve)["algorithm"] == \
        "gail_ln (gail config)"
    # a whole-run program's curve: its in-scan evaluations (every 2nd iteration here), seconds spread evenly
    per_iteration = np.array([np.nan, 0.2, 0.2, 0.6, 0.6, 0.9])
    assert quality.in_scan_curve(per_iteration, 2, 12.0) == [(4.0, 2, 0.2), (8.0, 4, 0.6), (12.0, 6, 0.9)]
    assert quality.in_scan_curve(per_iteration, 4, 12.0) == [(8.0, 4, 0.6)]
    assert quality.in_scan_curve(per_iteration, 0, 12.0) == []
    # ... after the init call, which comes first (a BC warm start runs there): 3 s of init, 12 s of iterations
    assert quality.in_scan_curve(per_iteration, 2, 12.0, 3.0) == [(7.0, 2, 0.2), (11.0, 4, 0.6), (15.0, 6, 0.9)]
    row = quality._row("e", "gail", 2, config, env, trainer, np.array([[0.1, 0.5], [0.1, 0.7]]),
                       np.zeros((2, 2)), 2, 1.0, 15.0, None, [], start_s=3.0)
    assert row["best_at_s"] == pytest.approx(15.0)
    row = quality._row("e", "gail", 2, config, env, trainer, np.array([[0.5, 0.1], [0.7, 0.1]]),
                       np.zeros((2, 2)), 2, 1.0, 15.0, None, [], start_s=3.0)
    assert row["best_at_s"] == pytest.approx(9.0)                 # 3 s of init + half of the 12 s of iterations


def test_quality_reports_the_expert_policys_own_score(tmp_path):
    """The shipped halfcheetah demonstrations average 8584 over their 32 episodes and the expert policy's
    128-episode evaluation recorded with them is 9620: under the score's normaliser (random −358) the expert
    itself scores 1.116, what a perfect imitator averages (the file it replaced: 0.867). The report says so;
    files without a recorded evaluation (pointmass) give no line."""
    quality = _benchmark("quality")
    from types import SimpleNamespace
    root = os.path.join(os.path.dirname(__file__), "..", "demos")
    meta = load_demos(os.path.join(root, "halfcheetah.npz"))[1]
    trainer = SimpleNamespace(expert_return=meta["expert_return"], random_return=meta["random_return"])
    score = quality.expert_policy_score(meta, trainer)
    assert score == pytest.approx((9620.23 + 357.69) / (8583.89 + 357.69), abs=1e-3)
    assert quality.expert_policy_score(load_demos(os.path.join(root, "pointmass.npz"))[1], trainer) is None
    assert quality.expert_policy_score(meta, SimpleNamespace(expert_return=1.0, random_return=None)) is None
    config = SimpleNamespace(generator=SimpleNamespace(num_steps=10))
    det = np.array([[0.5, 0.8]])
    rows = [quality._row("halfcheetah", alg, 1, config, SimpleNamespace(num_envs=4), trainer, det, det, 2, 1.0, 2.0,
                         None, [], score) for alg in ("gail", "airl")]
    quality.write_report(str(tmp_path / "q.md"), rows, ["--envs", "halfcheetah"])
    text = (tmp_path / "q.md").read_text()
    assert text.count("The expert policy's own score") == 1 and "halfcheetah 1.116 " in text


def test_quality_timed_programs_match_the_trainer(tmp_path):
    """The three concurrently compiled programs of ``quality.py --time-limit`` are the library's own pieces:
    init, a chunk WITHOUT in-scan evaluation and an evaluation program equal to ``Trainer.evaluate`` per seed."""
    quality = _benchmark("quality")
    import jax
    import numpy as np

    _, _, config, trainer, _ = quality._setup("pointmass", "gail", TINY_QUALITY, in_scan_eval=False)
    assert config.eval_every == 2 and trainer.config.eval_every == 0
    keys = jax.random.split(jax.random.PRNGKey(3), 2)
    times = {}
    programs = quality.build_timed_programs(trainer, keys, 2, times)
    assert {"init lower", "chunk compile", "eval compile", "compile wall"} <= set(times)
    states = programs["init"](keys)
    states, metrics = programs["chunk"](states, trainer.demos)
    assert np.all(np.isnan(np.asarray(metrics["score_det"])))  # no evaluation inside the chunk
    scores = programs["eval"](states)
    for i in range(2):
        one = jax.tree_util.tree_map(lambda x: x[i], states)
        ref = trainer.evaluate(one)
        for k in ("return_det", "return_stoch", "score_det", "score_stoch"):
            np.testing.assert_allclose(np.asarray(scores[k])[i], np.asarray(ref[k]), rtol=1e-5, atol=1e-5)


def test_throughput_script_runs_and_reports(tmp_path):
    """``throughput.py`` end to end on pointmass (tiny): four programs compiled concurrently, a ratio row."""
    throughput = _benchmark("throughput")
    report = tmp_path / "tp.md"
    throughput.main(["--envs", "pointmass", "--backend", "none", "--num-envs", "8", "--unroll", "4",
                     "--iterations", "2", "--repeats", "1", "--output", str(report)])
    row = [line.split("|") for line in report.read_text().splitlines() if line.startswith("| pointmass |")]
    assert len(row) == 1
    cells = [c.strip() for c in row[0]]
    assert cells[2] == "8"
    rates = [float(c.replace(",", "")) for c in cells[3:7]]  # bare, PPO, GAIL, AIRL env-steps/s
    assert all(r > 0 for r in rates)
    assert abs(float(cells[9]) - rates[3] / rates[0]) < 0.01  # AIRL/bare is the ratio of the rates
    assert 0 < float(cells[13]) < 1  # the largest program's memory (GiB): pointmass × 8 envs is a few MB
    # --parts: only the programs asked for (here bare stepping, the same program as above), the others shown as '—'
    throughput.main(["--envs", "pointmass", "--backend", "none", "--num-envs", "8", "--unroll", "4",
                     "--iterations", "2", "--repeats", "1", "--parts", "bare", "--output", str(report)])
    rows = [[c.strip() for c in line.split("|")] for line in report.read_text().splitlines()
            if line.startswith("| pointmass |")]
    assert len(rows) == 1 and rows[0][2] == "8"
    assert float(rows[0][3].replace(",", "")) > 0 and rows[0][4:10] == ["—"] * 6
    assert "reset pool" not in report.read_text()
    # --reset-pool: the envs restart from a pool of num_envs states, and the report says so
    throughput.main(["--envs", "pointmass", "--backend", "none", "--num-envs", "8", "--unroll", "4",
                     "--iterations", "2", "--repeats", "1", "--parts", "bare", "--reset-pool", "--output", str(report)])
    text = report.read_text()
    assert "reset pool of num_envs states" in text and "| pointmass | 8 |" in text


def test_footprint_counts_arguments_outputs_and_temporaries_once():
    """``aot.footprint_gib``: a 4 KiB argument and its 4 KiB output are at least 8 KiB; donated, the output reuses
    the argument's buffer and the program needs 4 KiB less."""
    aot = _benchmark("aot")
    x = jnp.ones(1024, jnp.float32)
    plain = aot.footprint_gib(jax.jit(lambda v: v * 2).lower(x).compile()) * 2**30
    donated = aot.footprint_gib(jax.jit(lambda v: v * 2, donate_argnums=0).lower(x).compile()) * 2**30
    assert plain >= 8192 and donated == plain - 4096


def test_footprint_script_compiles_the_quality_programs_and_reports_their_memory(tmp_path):
    """``footprint.py``: the programs ``quality.py --time-limit`` trains with (here the same as the quality test's:
    a compile-cache hit), compiled and never run; their memory in a row, a missing config skipped."""
    footprint = _benchmark("footprint")
    report = tmp_path / "fp.md"
    footprint.main(["--envs", "pointmass", "nope", "--algorithms", "gail", "--seeds", "2", "--output", str(report),
                    *TINY_QUALITY])
    rows = [[c.strip() for c in line.split("|")] for line in report.read_text().splitlines()
            if line.startswith("| pointmass |") or line.startswith("| nope |")]
    assert rows[0][3:5] == ["2", "4"]  # seeds, num_envs
    init, chunk, evaluation = (float(c) for c in rows[0][5:8])
    assert 0 < init < chunk < 0.01 and 0 < evaluation < 0.01  # a few MB; the chunk holds the rollouts and updates
    assert "skipped: config file not found" in rows[1][5]


def test_reset_cost_script_times_reset_and_step_and_the_pool(tmp_path):
    """``reset_cost.py`` on the spring inverted pendulum (tiny): one row whose ratio is reset / step, and the
    rollout times with and without a reset pool (random actions topple the pendulum within a few dozen steps, so
    some env ends in some of the steps); ``--pool-rounds 0`` leaves the pool's columns empty."""
    reset_cost = _benchmark("reset_cost")
    report = tmp_path / "rc.md"
    reset_cost.main(["--envs", "inverted_pendulum", "--backend", "spring", "--num-envs", "4", "--rounds", "2",
                     "--unroll", "8", "--iterations", "2", "--pool-rounds", "2", "--output", str(report)])
    rows = [[c.strip() for c in line.split("|")] for line in report.read_text().splitlines()
            if line.startswith("| inverted_pendulum |")]
    assert len(rows) == 1
    reset_ms, step_ms, ratio = (float(c) for c in rows[0][2:5])
    assert reset_ms > 0 and step_ms > 0 and abs(ratio - reset_ms / step_ms) < 0.01 + 0.01 * ratio
    ended = float(rows[0][5].rstrip(" %"))
    plain, pool, speedup = (float(c) for c in rows[0][6:9])
    assert 0 < ended <= 100 and plain > 0 and pool > 0 and abs(speedup - plain / pool) < 0.01 + 0.01 * speedup
    reset_cost.main(["--envs", "inverted_pendulum", "--backend", "spring", "--num-envs", "2", "--rounds", "1",
                     "--pool-rounds", "0", "--output", str(report)])
    row = next(line for line in report.read_text().splitlines() if line.startswith("| inverted_pendulum |"))
    assert row.endswith("| — | — | — | — |")


def test_the_benchmarks_time_the_pool_they_name_and_refill_it_every_rollout(tmp_path, monkeypatch):
    """throughput.py's bare stepping and reset_cost.py's rollouts refill the pool before each rollout (4 envs with a
    time limit of 3 end twice in a 6-step rollout: 8 draws since the last refill, 24 without); measure_pool times
    the env without a pool against one with num_envs states; throughput.py --reset-pool builds its envs with one.
    (pointmass never terminates on its own, so the counts are exact.)"""
    from jaxirl import envs

    throughput, reset_cost = _benchmark("throughput"), _benchmark("reset_cost")
    N, L, unroll, iterations = 4, 3, 6, 3
    env = envs.make("pointmass", N, episode_length=L, reset_pool=N)
    lowered, args, _ = throughput.prepare_bare(env, unroll, iterations)
    final, _, ends = lowered.compile()(*args)
    assert int(final.pool_drawn) == 2 * N and int(ends) == 2 * iterations  # every env ends at steps 3 and 6
    compiled, state = reset_cost._rollouts(env, unroll, iterations)  # staggered limits: each env still ends twice
    assert len(set(np.asarray(state.episode_length).tolist())) > 1  # started from staggered time limits
    final, _, ends = compiled(state, jax.random.key(0))
    assert int(final.pool_drawn) == 2 * N and int(ends) > 2 * iterations  # ...at spread-out steps

    seen = []
    rollouts = reset_cost._rollouts
    monkeypatch.setattr(reset_cost, "_rollouts", lambda e, *a: seen.append(e.reset_pool) or rollouts(e, *a))
    reset_cost.measure_pool("pointmass", None, N, 4, 1, 1)
    assert seen == [0, N]

    seen.clear()
    bench_row = throughput.bench_row
    monkeypatch.setattr(throughput, "bench_row", lambda e, *a, **k: seen.append(e.reset_pool) or bench_row(e, *a, **k))
    throughput.main(["--envs", "pointmass", "--backend", "none", "--num-envs", "8", "--unroll", "4", "--iterations",
                     "2", "--repeats", "1", "--parts", "bare", "--reset-pool", "--output", str(tmp_path / "t.md")])
    assert seen == [8]


def test_devices_script_runs_and_reports(tmp_path):
    """``devices.py`` end to end on pointmass with the one CPU device (the two-device run: tests/test_parallel.py);
    after the throughput test, whose GAIL program it repeats (a persistent-cache hit)."""
    devices = _benchmark("devices")
    report = tmp_path / "dev.md"
    rates = devices.main(["--env", "pointmass", "--backend", "none", "--num-envs", "8", "--unroll", "4",
                          "--iterations", "2", "--repeats", "1", "--algorithm", "gail", "--output", str(report)])
    assert list(rates) == [(1, 1)] and rates[1, 1] > 0  # (devices, ppo.shuffle_groups)
    rows = [[c.strip() for c in line.split("|")] for line in report.read_text().splitlines() if line.startswith("| 1 |")]
    assert len(rows) == 1 and rows[0][2:4] == ["1", "8"] and rows[0][5] == "1.00", rows
    with pytest.raises(SystemExit, match="--devices: 2 asked for, 1 present"):
        devices.main(["--env", "pointmass", "--backend", "none", "--devices", "1", "2", "--output", str(report)])


def test_solver_trips_replica_solves_as_jaxopt_and_counts_the_halvings():
    """benchmarks/solver_trips.py's NumPy replica of Brax's contact solver (jaxopt.ProjectedGradient, 4
    iterations, line search of <= 50 halvings) returns jaxopt's solution, and a stiffer problem (larger
    Lipschitz constant L) needs about log2(L) halvings per iteration: once the step falls below 1e-6, jaxopt
    restarts the next iteration's search from step 1."""
    import jax.numpy as jnp
    import jaxopt

    trips_mod = _benchmark("solver_trips")
    rng = np.random.default_rng(0)
    counts = []
    for n, scale in [(6, 1.0), (12, 30.0), (20, 300.0)]:
        j = rng.normal(size=(n, n)).astype(np.float32) * scale
        a = j @ j.T / n + np.eye(n, dtype=np.float32) * 0.1
        b = rng.normal(size=n).astype(np.float32) * scale
        pg = jaxopt.ProjectedGradient(lambda x: jnp.sum(0.5 * (jnp.asarray(a) @ x + b) ** 2),
                                      jaxopt.projection.projection_non_negative, maxiter=4, implicit_diff=False,
                                      maxls=50)
        ref = np.asarray(pg.run(jnp.zeros(n, jnp.float32)).params)
        x, trips = trips_mod.solve_trips(a, b, maxiter=4, maxls=50)
        np.testing.assert_allclose(x, ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())
        assert len(trips) == 4 and all(0 <= t <= 50 for t in trips)
        lip = np.linalg.eigvalsh(a.astype(np.float64)).max() ** 2
        if lip > 1e6:  # every iteration restarts from step 1 and halves down to ~1/L
            assert all(abs(t - math.log2(lip)) <= 3 for t in trips), (trips, math.log2(lip))
        counts.append(sum(trips))
    assert counts[0] < counts[1] < counts[2]
    # a vmapped loop runs its worst lane: the batched count is the per-iteration maximum, summed
    per_solve = np.array([[1, 0, 0, 0], [3, 2, 0, 0], [0, 0, 5, 0]])
    assert trips_mod.batched_trips(per_solve, 1) < trips_mod.batched_trips(per_solve, 64) == 3 + 2 + 5
    for bad in (["--envs", "pointmass"], ["--envs", "hoper"], ["--num-envs", "0"], ["--batch-sizes", "1", "0"],
                ["--steps", "-1"]):  # refused before any env is built
        with pytest.raises(SystemExit):
            trips_mod.main(bad + ["--output", "unused.md"])


def test_bc_script_clones_scores_and_reports(tmp_path):
    """benchmarks/bc.py on pointmass: the cloned policies score like the scripted expert (BC is the strong baseline
    there too), the report has the row; bad arguments exit before anything is built."""
    bc = _benchmark("bc")
    report = tmp_path / "bc.md"
    rows = bc.main(["--envs", "pointmass", "--seeds", "2", "--episodes", "8", "--bc-steps", "1000",
                    "--init-log-std", "-1", "--output", str(report)])
    (row,) = rows
    assert row["det"].shape == (2,) and np.all(row["det"] > 0.8), row["det"]  # measured 1.02 for both
    assert np.all(np.isfinite(row["stoch"])) and row["transitions"] > 0
    text = report.read_text()
    assert "| pointmass |" in text and "command: `python benchmarks/bc.py" in text
    for bad in (["--envs", "nope"], ["--seeds", "0"], ["--bc-steps", "0"], ["--validation-fraction", "1"]):
        with pytest.raises(SystemExit):
            bc.main(bad + ["--output", str(tmp_path / "bad.md")])
    assert not (tmp_path / "bad.md").exists()


def test_reward_transfer_script_reports_true_and_learned_rows(tmp_path):
    """benchmarks/reward_transfer.py (tiny runs): the true-reward row is its own baseline (relative 1 for every seed),
    a learned-reward row is reported with the reward run's own score; bad arguments exit before anything runs."""
    rt = _benchmark("reward_transfer")
    out = tmp_path / "rt.md"
    tiny_train = ["env.num_envs=4", "ppo.num_steps=10", "ppo.num_minibatches=2",
                  "ppo.update_epochs=1", "ppo.hidden=[16]", "discriminator.hidden=[16]", "discriminator.num_steps=1",
                  "discriminator.expert_batch_size=16", "discriminator.policy_batch_size=16",
                  "train.num_iterations=2", "train.eval_every=2", "eval.num_envs=4", "demos.episodes=2"]
    tiny_expert = ["env.num_envs=4", "env.episode_length=10", "ppo.num_steps=10", "ppo.num_minibatches=2",
                   "ppo.update_epochs=1", "ppo.hidden=[16]", "train.num_updates=2", "train.log_every=2",
                   "eval.num_envs=4"]
    rows = rt.main(["--sources", "airl", "--seeds", "2", "--output", str(out), "--train-overrides", *tiny_train,
                    "--transfer-overrides", *tiny_expert])
    assert [r[0] for r in rows] == ["true reward", "airl"] and len(rows[1][2]) == 2
    text = out.read_text()
    assert "| true reward | — |" in text and "| 1.000 (1.000–1.000) |" in text
    assert any(line.startswith("| airl | ") for line in text.splitlines())
    assert rows[1][2][0]["reward_run"] == rows[1][1]["run_dir"]  # the transfer trained on that run's reward
    for bad in (["--seeds", "0"], ["--env", "nope"], ["--env-kwargs", "[1]"]):
        with pytest.raises(SystemExit):
            rt.main(bad + ["--output", str(tmp_path / "bad.md")])
    for bad, message in ((["--train-overrides", "ppo.lr=1"], "unknown config key 'ppo.lr'"),
                         (["--transfer-overrides", "train.num_updates=0"], "train.num_updates")):
        with pytest.raises(SystemExit, match=message):  # checked before any run trains
            rt.main(bad + ["--output", str(tmp_path / "bad.md")])
    assert not (tmp_path / "bad.md").exists()


def test_demo_pitch_finds_the_flips(tmp_path):
    """benchmarks/demo_pitch.py on a made-up halfcheetah file: a torso that turns over at a known step, and one
    that makes a whole turn back to upright (counted upright again)."""
    from jaxirl.data import save_demos
    from jaxirl.envs import Transition

    demo_pitch = _benchmark("demo_pitch")
    n = 100
    turn = np.linspace(0.0, 4.0, n)                      # passes pi/2 at step ceil(pi/2 / (4/99)) = 39
    whole = np.concatenate([np.zeros(50), np.full(50, 2 * np.pi)])   # a full turn: upright throughout
    obs = np.zeros((2 * n, 17), np.float32)
    obs[:, 1] = np.concatenate([turn, whole])
    reward = np.concatenate([np.where(turn > np.pi / 2, 2.0, 1.0), np.full(n, 3.0)]).astype(np.float32)
    ends = np.zeros(2 * n, np.float32)
    ends[[n - 1, 2 * n - 1]] = 1.0
    tr = Transition(obs=obs, action=np.zeros((2 * n, 6), np.float32), reward=reward, next_obs=obs,
                    terminated=np.zeros(2 * n, np.float32), truncated=ends)
    path = str(tmp_path / "hc.npz")
    save_demos(path, tr, [reward[:n].sum(), reward[n:].sum()], {"env": "halfcheetah", "episode_length": n})
    _, (a, b) = demo_pitch.episodes(path)
    first = int(np.argmax(turn > np.pi / 2))
    assert a["first_flip"] == first == 39 and a["flipped_share"] == pytest.approx((n - first) / n)
    assert a["reward_upright"] == pytest.approx(1.0) and a["reward_flipped"] == pytest.approx(2.0)
    assert b["first_flip"] is None and b["flipped_share"] == 0.0 and b["reward_flipped"] is None
    assert b["turns"] == pytest.approx(1.0)
    demo_pitch.main([path, "--output", str(tmp_path / "p.md")])
    text = (tmp_path / "p.md").read_text()
    assert "1 of 2 episodes spend most of their steps flipped" in text and "| 0 | 161 | 100 | 39 | 61% |" in text
    save_demos(path, tr, [reward[:n].sum(), reward[n:].sum()], {"env": "ant", "episode_length": n})
    with pytest.raises(ValueError, match="not one of the planar"):
        demo_pitch.episodes(path)


def test_gpu_plan_names_a_command_for_every_item(tmp_path):
    """benchmarks/gpu_plan.sh (benchmarks/GPU_PLAN.md, one item per device call): every item resolves to a command
    of scripts that exist, the expert items put their flags before the key=value overrides (argparse stops
    reading flags after them), and an unknown item is refused."""
    import re
    import subprocess

    script = os.path.join(ROOT, "benchmarks", "gpu_plan.sh")
    env = dict(os.environ, DRY="1", OUT=str(tmp_path))
    for item in ("1", "1-resume", "1-probe", "1-seeds", "2-gail", "2-airl", "2-walker", "3", "4", "4-reset", "5",
                 "5-walker", "6", "7-gaifo"):
        done = subprocess.run(["bash", script, item], capture_output=True, text=True, env=env, cwd=ROOT)
        assert done.returncode == 0, (item, done.stderr)
        command = done.stdout.strip()
        scripts = re.findall(r"benchmarks/\w+\.(?:py|sh)", command)
        assert scripts and all(os.path.isfile(os.path.join(ROOT, s)) for s in scripts), (item, command)
        if "experts.py" in command:
            flags, _, overrides = command.partition(" demos.")
            assert "--" not in overrides and "train.time_limit_s=" in overrides, command
    done = subprocess.run(["bash", script, "7"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 2 and "unknown item" in done.stderr
    # ALGS / EXTRA reach the quality runs; DRY=1 needs no OUT
    env = {k: v for k, v in env.items() if k != "OUT"} | {"ALGS": "gail", "EXTRA": "env.num_envs=4096 ppo.num_steps=10"}
    done = subprocess.run(["bash", script, "5"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0 and "Q_ALGS='gail'" in done.stdout
    assert "ppo.init_log_std=0 env.num_envs=4096 ppo.num_steps=10'" in done.stdout
    # DEADLINE replaces an item's own (a warm call's shorter one)
    done = subprocess.run(["bash", script, "4"], capture_output=True, text=True, env=env | {"DEADLINE": "230"}, cwd=ROOT)
    assert done.returncode == 0 and "DEADLINE=230 " in done.stdout and "DEADLINE=280" not in done.stdout
