#!/usr/bin/env bash
# Exact-equilibrium sheaf training (issue 5, item 8) against SGD, Adam and the paper's sheaf training at an equal, short
# step budget on two Table E.1 configurations: paraboloid 1H (the reference data/weights, tests/fixtures) and saddle 1H
# (SheafCore's seed-42 data and weights, as table_e1.sh). The equilibrium step costs ≈ 150 ms on 300 samples (a dense
# solve per sample), so the budget is 300 steps; ≈ 2.5 min on one core.
# Usage: docs/results/equilibrium.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/docs/results/equilibrium}"
cli="$root/src/SheafCore.Cli/bin/Release/net10.0/SheafCore.Cli.dll"
[ -f "$cli" ] || dotnet build "$root/src/SheafCore.Cli" -c Release >/dev/null
f="$root/tests/fixtures"
mkdir -p "$out/data" "$out/logs"
dotnet "$cli" task --name saddle --seed 42 --out-dir "$out/data" --quiet
steps=300
echo "config,method,steps,lr,finalTrainLoss,finalTestLoss,wallSeconds" > "$out/equilibrium.csv"
run() { # config model-args train test method lr extra…
  local config=$1 model=$2 train=$3 test=$4 method=$5 lr=$6; shift 6
  local start end; start=$(date +%s.%N)
  dotnet "$cli" train $model --train "$train" --test "$test" --method "$method" --lr "$lr" --steps $steps --steps-per-epoch 50 \
    --model-out "$out/logs/${config}_${method}.json" --log "$out/logs/${config}_${method}.csv" --quiet "$@"
  end=$(date +%s.%N)
  IFS=, read -r s trl tel _ _ <<< "$(tail -n 1 "$out/logs/${config}_${method}.csv")"
  echo "$config,$method,$s,$lr,$trl,$tel,$(echo "$end - $start" | bc)" >> "$out/equilibrium.csv"
}
for config in paraboloid_1H saddle_1H; do
  if [ $config = paraboloid_1H ]; then
    model="--model $f/models/mlp_2-30-1_seed42_identity.json"; tr="$f/datasets/paraboloid_train.csv"; te="$f/datasets/paraboloid_test.csv"
  else
    model="--layers 2,30,1 --seed 42"; tr="$out/data/saddle_train.csv"; te="$out/data/saddle_test.csv"
  fi
  run $config "$model" "$tr" "$te" sgd 0.005
  run $config "$model" "$tr" "$te" adam 0.01
  run $config "$model" "$tr" "$te" sheaf 0.005 --dt 0.005 --beta 0.0033333333333333335 --warm-start true --stalk-init random
  run $config "$model" "$tr" "$te" equilibrium 0.005
  run $config "$model" "$tr" "$te" equilibrium-adam 0.01
done
cat "$out/equilibrium.csv"
