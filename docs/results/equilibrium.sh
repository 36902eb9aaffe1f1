#!/usr/bin/env bash
# Equilibrium sheaf training (issue 5, item 8) on all 8 Table E.1 configurations, SheafCore's seed-42 data and weights
# (as table_e1.sh), against SGD from the same initial weights:
#   full   — the paper's step budgets (100k steps 1H, 200k 2H): sgd, equilibrium direct γ = 1, 0.1, 0.01, 0.001 (descent, SGD's lr)
#   short  — 2,000 steps: the LOCAL variant (diffusion relaxation, 20 adaptive-heat steps per training step) next to
#            direct γ = 1 and sgd at the same budget.
# Every run writes its own row into OUT/rows/, so runs can be split across processes with ONLY=<regex on run name>.
# Usage: docs/results/equilibrium.sh [OUT_DIR]   (one training at a time: ≈ 2.5 h wall on a loaded 2-core machine;
# the committed results ran as 4 concurrent ONLY= streams, and the γ = 0.001 rows only for the paraboloid nets)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/docs/results/equilibrium}"
only="${ONLY:-.}"
cli="$root/src/SheafCore.Cli/bin/Release/net10.0/SheafCore.Cli.dll"
[ -f "$cli" ] || dotnet build "$root/src/SheafCore.Cli" -c Release >/dev/null
mkdir -p "$out/data" "$out/logs" "$out/rows"
run() { # name budget task depth layers act lr method extra…
  local name=$1 budget=$2 task=$3 depth=$4 layers=$5 act=$6 lr=$7 method=$8; shift 8
  [[ "$name" =~ $only ]] || return 0
  local steps spe=1000
  if [ "$budget" = full ]; then if [ "$depth" = 1H ]; then steps=100000; else steps=200000; fi; else steps=2000; spe=500; fi
  local log="$out/logs/$name.csv" start end
  start=$(date +%s.%N)
  local info
  info=$(dotnet "$cli" train --layers "$layers" --output-activation "$act" --seed 42 \
    --train "$out/data/${task}_train.csv" --test "$out/data/${task}_test.csv" --method "$method" --lr "$lr" \
    --steps $steps --steps-per-epoch $spe --model-out "$out/logs/$name.json" --log "$log" "$@" | grep '^equilibrium' || true)
  end=$(date +%s.%N)
  IFS=, read -r s trl tel tra tea <<< "$(tail -n 1 "$log")"
  local unconverged work
  unconverged=$(sed -n 's/.*unconverged \([0-9]*\).*/\1/p' <<< "$info"); work=$(sed -n 's/.*work \([0-9]*\).*/\1/p' <<< "$info")
  echo "$budget,$task,$depth,\"[$layers]\",$name,$method $*,$s,$lr,$trl,$tel,$tra,$tea,$(echo "$end - $start" | bc),${unconverged:-},${work:-}" > "$out/rows/$name.csv"
}
for task in paraboloid saddle circular blobs; do
  [ -f "$out/data/${task}_train.csv" ] || dotnet "$cli" task --name "$task" --seed 42 --out-dir "$out/data" --quiet
  case $task in
    paraboloid|saddle) act=identity; l1=2,30,1; l2=2,10,8,1; lr=0.005 ;;
    circular) act=sigmoid; l1=2,25,1; l2=2,10,8,1; lr=0.01 ;;
    blobs) act=softmax; l1=2,25,4; l2=2,10,8,4; lr=0.01 ;;
  esac
  for depth in 1H 2H; do
    if [ $depth = 1H ]; then layers=$l1; else layers=$l2; fi
    c="${task}_${depth}"
    run "full_${c}_sgd" full $task $depth $layers $act $lr sgd
    run "full_${c}_direct_g1" full $task $depth $layers $act $lr equilibrium --relaxation direct --output-coupling 1
    run "full_${c}_direct_g0.1" full $task $depth $layers $act $lr equilibrium --relaxation direct --output-coupling 0.1
    run "full_${c}_direct_g0.01" full $task $depth $layers $act $lr equilibrium --relaxation direct --output-coupling 0.01
    run "full_${c}_direct_g0.001" full $task $depth $layers $act $lr equilibrium --relaxation direct --output-coupling 0.001
    run "short_${c}_sgd" short $task $depth $layers $act $lr sgd
    run "short_${c}_direct_g1" short $task $depth $layers $act $lr equilibrium --relaxation direct --output-coupling 1
    run "short_${c}_diffusion_g1" short $task $depth $layers $act $lr equilibrium --relaxation diffusion --output-coupling 1 --relax-max-steps 20
  done
done
echo "budget,task,depth,layers,run,method,steps,lr,finalTrainLoss,finalTestLoss,trainAccuracy,testAccuracy,wallSeconds,unconverged,relaxationWork" > "$out/equilibrium.csv"
cat "$out/rows/"*.csv | sort >> "$out/equilibrium.csv"
cat "$out/equilibrium.csv"
