#!/usr/bin/env bash
# Reproduction sweeps (theory §7, §8.3), all on the paraboloid with the reference code's exact data (tests/fixtures):
#   beta      — β·n_train sweep, the reference's seed-42 weights and initial stalks (sweep beta)
#   beta3     — the same sweep for 3 weight seeds 0/100/200 (SheafCore's He draws; stalk seeds 42/43/44), as the paper
#   depth     — depth × integration-time sweep: test MSE after T = dt·n_steps, n_steps = max(⌊T/dt⌋, 100), for
#               1H [2,30,1] (dt 0.005), 2H [2,10,8,1] and 3H [2,8,6,4,1] (dt 0.01), weights seed 42, β = 1/300
#   depthref  — the 1H row again from the reference code's exact weights and initial stalks
#   spectral  — spectrum during sheaf and SGD training (sweep spectral)
#   plots     — PNG figures of all of the above from the CSVs
# Usage: docs/results/sweeps.sh [OUT_DIR]   (PARTS="beta3 depth plots" to run some; ≈ 8 CPU-minutes for all)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/docs/results/sweeps}"
parts=" ${PARTS:-beta beta3 depth depthref spectral plots} "
cli="$root/src/SheafCore.Cli/bin/Release/net10.0/SheafCore.Cli.dll"
[ -f "$cli" ] || dotnet build "$root/src/SheafCore.Cli" -c Release >/dev/null
f="$root/tests/fixtures"
data=(--train "$f/datasets/paraboloid_train.csv" --test "$f/datasets/paraboloid_test.csv")
common=(--model "$f/models/mlp_2-30-1_seed42_identity.json" "${data[@]}"
        --init-state "$f/expected/training/paraboloid_1H_sheaf_init_stalks.json" --steps 100000 --dt 0.005 --alpha 1)
mkdir -p "$out/models"
has() { [[ "$parts" == *" $1 "* ]]; }
if has beta; then dotnet "$cli" sweep beta "${common[@]}" --out "$out/beta_sweep.csv"; fi
if has beta3; then
  for pair in 0:42 100:43 200:44; do
    seed=${pair%%:*}; stalk=${pair##*:}
    dotnet "$cli" init --layers 2,30,1 --seed "$seed" --model-out "$out/models/mlp_2-30-1_seed$seed.json" --quiet
    dotnet "$cli" sweep beta --model "$out/models/mlp_2-30-1_seed$seed.json" "${data[@]}" --stalk-seed "$stalk" \
      --steps 100000 --dt 0.005 --alpha 1 --out "$out/beta_sweep_seed$seed.csv" --quiet
  done
fi
if has depth; then
  echo "depth,layers,dt,T,steps,finalTrainLoss,finalTestLoss" > "$out/depth_time.csv"
  for spec in 1H:2,30,1:0.005 2H:2,10,8,1:0.01 3H:2,8,6,4,1:0.01; do
    IFS=: read -r depth layers dt <<< "$spec"
    for T in 0.5 1 2.5 5 10 25 50; do
      steps=$(python3 -c "print(max(int($T/$dt + 1e-9), 100))")
      log="$out/models/depth_${depth}_T$T.csv"
      dotnet "$cli" train --layers "$layers" --seed 42 "${data[@]}" --method sheaf --steps "$steps" --steps-per-epoch "$steps" \
        --dt "$dt" --beta 0.0033333333333333335 --stalk-init random --stalk-seed 42 --warm-start true \
        --model-out "$out/models/depth_${depth}_T$T.json" --log "$log" --quiet
      IFS=, read -r s trl tel _ _ <<< "$(tail -n 1 "$log")"
      echo "$depth,${layers//,/-},$dt,$T,$s,$trl,$tel" >> "$out/depth_time.csv"
    done
  done
fi
if has depthref; then
  # 1H once more from the reference code's exact weights and initial stalks (rows "1H-ref").
  for T in 0.5 1 2.5 5 10 25 50; do
    steps=$(python3 -c "print(max(int($T/0.005 + 1e-9), 100))")
    log="$out/models/depth_1H-ref_T$T.csv"
    dotnet "$cli" train --model "$f/models/mlp_2-30-1_seed42_identity.json" "${data[@]}" --method sheaf --steps "$steps" \
      --steps-per-epoch "$steps" --dt 0.005 --beta 0.0033333333333333335 --warm-start true \
      --init-state "$f/expected/training/paraboloid_1H_sheaf_init_stalks.json" \
      --model-out "$out/models/depth_1H-ref_T$T.json" --log "$log" --quiet
    IFS=, read -r s trl tel _ _ <<< "$(tail -n 1 "$log")"
    echo "1H-ref,2-30-1,0.005,$T,$s,$trl,$tel" >> "$out/depth_time.csv"
  done
fi
if has spectral; then
  dotnet "$cli" sweep spectral "${common[@]}" --beta 0.0033333333333333335 --lr 0.005 --every 1000 --samples 50 \
    --xray-method dense --out "$out/spectral_evolution.csv" --quiet
fi
if has plots; then
  p=(dotnet "$cli" sweep plot --quiet)
  "${p[@]}" --series "paper mean (seeds 0/100/200)=$root/docs/results/sweeps/paper_beta.csv:betaTimesNTrain:meanTestLoss" \
    --series "seed 42 (reference init)=$out/beta_sweep.csv:betaTimesNTrain:finalTestLoss" \
    --series "He seed 0=$out/beta_sweep_seed0.csv:betaTimesNTrain:finalTestLoss" \
    --series "He seed 100=$out/beta_sweep_seed100.csv:betaTimesNTrain:finalTestLoss" \
    --series "He seed 200=$out/beta_sweep_seed200.csv:betaTimesNTrain:finalTestLoss" \
    --log-x --log-y --x-label "β·n_train" --y-label "final test MSE" --title "β·n_train sweep (paraboloid [2,30,1], 100k steps)" \
    --output "$out/beta_sweep.png"
  series=()
  for depth in 1H 2H 3H; do
    series+=(--series "SheafCore $depth=$out/depth_time.csv:T:finalTestLoss:depth=$depth"
             --series "paper $depth=$root/docs/results/sweeps/paper_depth_time.csv:T:testLoss:depth=$depth")
  done
  series+=(--series "SheafCore 1H, reference init=$out/depth_time.csv:T:finalTestLoss:depth=1H-ref")
  "${p[@]}" "${series[@]}" --log-x --log-y --x-label "integration time T = dt·steps" --y-label "test MSE" \
    --title "Depth × integration time (paraboloid, β = 1/300)" --output "$out/depth_time.png"
  "${p[@]}" --series "sheaf λ_min=$out/spectral_evolution.csv:step:lambdaMinMedian:method=sheaf" \
    --series "SGD λ_min=$out/spectral_evolution.csv:step:lambdaMinMedian:method=sgd" \
    --series "sheaf λ_max=$out/spectral_evolution.csv:step:lambdaMaxMedian:method=sheaf" \
    --series "SGD λ_max=$out/spectral_evolution.csv:step:lambdaMaxMedian:method=sgd" \
    --log-y --x-label "training step" --y-label "median over 50 inputs" --title "Spectral evolution during training (paraboloid [2,30,1])" \
    --output "$out/spectral_evolution.png"
fi
