#!/usr/bin/env bash
# The β·n_train sweep (theory §8.3.1) and the spectral evolution during training (theory §7), both on the paraboloid
# [2,30,1] with the reference code's exact data, initial weights (seed 42) and initial stalks (tests/fixtures).
# Usage: docs/results/sweeps.sh [OUT_DIR]   (≈ 2 min on one core: 11 sheaf runs of 100k steps, then 100k sheaf + 100k SGD
# steps with a dense X-ray of 50 training inputs every 1000 steps)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/docs/results/sweeps}"
cli="$root/src/SheafCore.Cli/bin/Release/net10.0/SheafCore.Cli.dll"
[ -f "$cli" ] || dotnet build "$root/src/SheafCore.Cli" -c Release >/dev/null
f="$root/tests/fixtures"
common=(--model "$f/models/mlp_2-30-1_seed42_identity.json" --train "$f/datasets/paraboloid_train.csv"
        --test "$f/datasets/paraboloid_test.csv" --init-state "$f/expected/training/paraboloid_1H_sheaf_init_stalks.json"
        --steps 100000 --dt 0.005 --alpha 1)
mkdir -p "$out"
dotnet "$cli" sweep beta "${common[@]}" --out "$out/beta_sweep.csv"
dotnet "$cli" sweep spectral "${common[@]}" --beta 0.0033333333333333335 --lr 0.005 --every 1000 --samples 50 \
  --xray-method dense --out "$out/spectral_evolution.csv" --quiet
