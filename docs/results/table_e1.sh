#!/usr/bin/env bash
# Table E.1 with SheafCore's own data and weights (seed 42): 4 tasks × {1H, 2H} × {sheaf, sgd}, the paper's settings.
# Then one PNG per configuration: test-loss curves of sheaf training and SGD (and of the equilibrium trainer where
# docs/results/equilibrium.sh has run).
# Usage: docs/results/table_e1.sh [OUT_DIR]   (runs one training at a time; ≈ 5 min on one core; PLOTS_ONLY=1 redraws)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/docs/results/table_e1}"
cli="$root/src/SheafCore.Cli/bin/Release/net10.0/SheafCore.Cli.dll"
[ -f "$cli" ] || dotnet build "$root/src/SheafCore.Cli" -c Release >/dev/null
mkdir -p "$out/data" "$out/logs" "$out/plots"
eq="$root/docs/results/equilibrium/logs"
plots() {
  for task in paraboloid saddle circular blobs; do
    for depth in 1H 2H; do
      c="${task}_${depth}"; extra=()
      for g in 1 0.01; do
        [ -f "$eq/full_${c}_direct_g$g.csv" ] && extra+=(--log "equilibrium γ $g=$eq/full_${c}_direct_g$g.csv")
      done
      dotnet "$cli" plot loss --log "sheaf=$out/logs/${c}_sheaf.csv" --log "sgd=$out/logs/${c}_sgd.csv" "${extra[@]}" \
        --column testLoss --title "Table E.1 $task $depth: test loss" --output "$out/plots/$c.png" --quiet
    done
  done
}
if [ -n "${PLOTS_ONLY:-}" ]; then plots; exit 0; fi
echo "task,depth,layers,method,steps,dt,lr,finalTrainLoss,finalTestLoss,trainAccuracy,testAccuracy,wallSeconds" > "$out/table_e1.csv"
for task in paraboloid saddle circular blobs; do
  dotnet "$cli" task --name "$task" --seed 42 --out-dir "$out/data" --quiet
  case $task in
    paraboloid|saddle) act=identity; l1=2,30,1; l2=2,10,8,1; lr=0.005 ;;
    circular) act=sigmoid; l1=2,25,1; l2=2,10,8,1; lr=0.01 ;;
    blobs) act=softmax; l1=2,25,4; l2=2,10,8,4; lr=0.01 ;;
  esac
  for depth in 1H 2H; do
    if [ $depth = 1H ]; then layers=$l1; steps=100000; dt=0.005; else layers=$l2; steps=200000; dt=0.01; fi
    for method in sheaf sgd; do
      log="$out/logs/${task}_${depth}_${method}.csv"
      start=$(date +%s.%N)
      dotnet "$cli" train --layers "$layers" --output-activation $act --seed 42 \
        --train "$out/data/${task}_train.csv" --test "$out/data/${task}_test.csv" \
        --method $method --steps $steps --dt $dt --lr $lr --model-out "$out/logs/${task}_${depth}_${method}.json" --log "$log" --quiet
      end=$(date +%s.%N)
      last=$(tail -n 1 "$log")
      IFS=, read -r s trl tel tra tea <<< "$last"
      echo "$task,$depth,\"[$layers]\",$method,$s,$dt,$lr,$trl,$tel,$tra,$tea,$(echo "$end - $start" | bc)" >> "$out/table_e1.csv"
    done
  done
done
cat "$out/table_e1.csv"
plots
