#!/bin/bash
# benchmarks/GPU_PLAN.md ("Still to measure on a GPU"), one short command per item, for a device call:
#   OUT=$OUT bash benchmarks/gpu_plan.sh ITEM          (from the project root, brax importable)
#   DRY=1 bash benchmarks/gpu_plan.sh ITEM             prints the command instead of running it
# Items (device call timeout_s in brackets; "warm": a second call on the still-warm machine, whose /tmp and
# compilation cache survive between calls):
#   1         a stronger halfcheetah expert alone on the GPU, 420 s of training, 32 demonstrated episodes [570]
#   1-resume  warm: the same expert trained on bit-exactly for 220 s more (its newest run folder in /tmp/runs) [300]
#   1-probe   warm: that expert's demonstrations (kept in /tmp/runs by 1 / 1-resume) replace demos/halfcheetah.npz
#             on the device, then GAIL and AIRL with the configs' BC warm start and term, one seed each alone [330]
#   1-seeds   halfcheetah AIRL then GAIL with the configs' BC warm start and term, 3 seeds each alone, one 100-iteration
#             chunk each (~40 s; Q_TIME=30 stops after it: with 40 GAIL's 39.4 s chunk earned a second one and AIRL's
#             third seed would pass the deadline) (the shipped demonstrations: 1 and 1-probe were done on 2026-11-28) [560]
#   2-gail    ant GAIL, 3 seeds alone, 100 s each (for an H100: the target's card) [560]
#   2-airl    warm: ant AIRL, 3 seeds alone, 60 s each [340]
#   2-walker  warm: walker2d GAIL and AIRL with BC, 3 seeds alone, 25 s each [400]
#   3         throughput rows for ant and hopper at 8192 and 2048 envs (bare, PPO, GAIL, AIRL; ant 8192 first, again
#             alone: its row of 2026-11-26 was timed while quality runs started up) [560]
#   4         halfcheetah's and ant's bare-stepping scaling at 512 / 2048 / 8192 envs [300]
#   4-reset   warm: a batched reset vs a step of ant, walker2d and halfcheetah at 2048 envs (the auto-reset's price),
#             and bare stepping with per-step resets vs a reset pool (env.reset_pool) from staggered time limits [390]
#   5         pure (no BC) halfcheetah AIRL then GAIL, one seed alone, 120 s each [560]
#   5-walker  pure (no BC) walker2d AIRL then GAIL, one seed alone, 100 s each [420]
#   6         walker2d GAIL and AIRL + BC from ONE demonstrated episode, 3 seeds alone, 2 chunks (~29 s) each, then
#             the clone [590]
#   7-gaifo   GAIfO from observations only on hopper: GAIL with discriminator.inputs=ss and the demonstrations' actions
#             dropped, 3 seeds alone, 40 s each (its config has no BC, which observations could not feed) [470]
# DEADLINE=S replaces an item's own deadline (gpu_issue7.sh stops every process S seconds after it starts).
# EXTRA="key=value ..." appends overrides to a quality item's runs (e.g. item 5's GAIL again with the ant shape:
#   ALGS=gail EXTRA="env.num_envs=4096 ppo.num_steps=10" OUT=$OUT bash benchmarks/gpu_plan.sh 5); ALGS replaces the
#   item's algorithms.
# Results land in $OUT (experts_gpu.md, quality_gpu.md / .log, throughput_gpu.md, reset_cost_gpu.md, bc_gpu.md); record them in
# benchmarks/results/ with the device name.
set -u
ITEM=${1:?usage: OUT=DIR bash benchmarks/gpu_plan.sh ITEM (see the comment at the top)}
if [ "${DRY:-0}" = 1 ]; then OUT=${OUT:-\$OUT}; else OUT=${OUT:?set OUT to a results folder}; fi
PY=${PY:-python3}
run() { if [ "${DRY:-0}" = 1 ]; then echo "$*"; else eval "$*"; fi; }
EXPERT="$PY benchmarks/experts.py --envs halfcheetah --out \$OUT --runs /tmp/runs --mem-fraction 0.9 --output \$OUT/experts_gpu.md"
EPISODES="demos.num_episodes=32 demos.num_envs=32"
Q="OUT=\$OUT PY=$PY bash benchmarks/gpu_issue7.sh"
X=${EXTRA:-}
algs() { echo "${ALGS:-$1}"; }
dl() { echo "${DEADLINE:-$1}"; }   # DEADLINE (s) in the environment replaces an item's own (e.g. a warm call's shorter one)
case "$ITEM" in
  # experts.py writes the demonstrations to this call's $OUT; a copy in /tmp/runs outlives the call (1-probe)
  1) run "$EXPERT $EPISODES train.time_limit_s=420; cp \$OUT/halfcheetah.npz /tmp/runs/" ;;
  1-resume) run "$EXPERT --resume $EPISODES train.time_limit_s=220; cp \$OUT/halfcheetah.npz /tmp/runs/" ;;
  1-probe) run "cp /tmp/runs/halfcheetah.npz demos/halfcheetah.npz && $PY -m jaxirl.cli demos demos/halfcheetah.npz episodes=false > /dev/null && Q_ALGS='$(algs "gail airl")' Q_OVERRIDES='train.eval_every=100 train.num_iterations=3000 $X' $Q" ;;
  1-seeds) run "TP_ARGS=none Q_ENVS=halfcheetah Q_ALGS='$(algs "airl gail")' Q_SEEDS=3 Q_TIME=30 DEADLINE=$(dl 520) Q_OVERRIDES='train.eval_every=100 train.num_iterations=3000 $X' $Q" ;;
  2-gail) run "TP_ARGS=none Q_ENVS=ant Q_ALGS='$(algs gail)' Q_SEEDS=3 Q_TIME=100 Q_OVERRIDES='train.eval_every=300 train.num_iterations=3000 $X' $Q" ;;
  2-airl) run "TP_ARGS=none Q_ENVS=ant Q_ALGS='$(algs airl)' Q_SEEDS=3 Q_TIME=60 DEADLINE=$(dl 320) Q_OVERRIDES='train.eval_every=200 train.num_iterations=3000 $X' $Q" ;;
  2-walker) run "TP_ARGS=none Q_ENVS=walker2d Q_ALGS='$(algs "gail airl")' Q_SEEDS=3 Q_TIME=25 DEADLINE=$(dl 370) Q_OVERRIDES='train.eval_every=100 train.num_iterations=3000 $X' $Q" ;;
  3) run "TP_ARGS='--preset gpu --envs ant hopper --num-envs 8192 2048 --repeats 2' Q_ENVS=none $Q" ;;
  4) run "TP_ARGS='--preset gpu --envs halfcheetah ant --num-envs 512 2048 8192 --parts bare --repeats 2' Q_ENVS=none DEADLINE=$(dl 280) $Q" ;;
  4-reset) run "timeout 360 $PY benchmarks/reset_cost.py --envs ant walker2d halfcheetah --num-envs 2048 --rounds 10 --pool-rounds 3 --output \$OUT/reset_cost_gpu.md" ;;
  5) run "TP_ARGS=none Q_ENVS=halfcheetah Q_ALGS='$(algs "airl gail")' Q_SEEDS=1 Q_TIME=120 Q_OVERRIDES='train.eval_every=50 train.num_iterations=3000 bc.steps=0 bc.coef=0 ppo.init_log_std=0 $X' $Q" ;;
  5-walker) run "TP_ARGS=none Q_ENVS=walker2d Q_ALGS='$(algs "airl gail")' Q_SEEDS=1 Q_TIME=100 DEADLINE=$(dl 400) Q_OVERRIDES='train.eval_every=100 train.num_iterations=3000 bc.steps=0 bc.coef=0 ppo.init_log_std=0 $X' $Q" ;;
  6) run "TP_ARGS=none Q_ENVS=walker2d Q_ALGS='$(algs "gail airl")' Q_SEEDS=3 Q_TIME=25 DEADLINE=$(dl 450) Q_OVERRIDES='train.eval_every=100 train.num_iterations=3000 demos.episodes=1 $X' $Q && $PY benchmarks/bc.py --envs walker2d --validation-fraction 0 --output \$OUT/bc_gpu.md demos.episodes=1" ;;
  7-gaifo) run "TP_ARGS=none Q_ENVS=hopper Q_ALGS='$(algs gail)' Q_SEEDS=3 Q_TIME=40 DEADLINE=$(dl 400) Q_OVERRIDES='train.eval_every=100 train.num_iterations=3000 discriminator.inputs=ss demos.drop_actions=true $X' $Q" ;;
  *) echo "gpu_plan.sh: unknown item '$ITEM' (1, 1-resume, 1-probe, 1-seeds, 2-gail, 2-airl, 2-walker, 3, 4, 4-reset, 5, 5-walker, 6, 7-gaifo)" >&2; exit 2 ;;
esac
