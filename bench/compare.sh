#!/usr/bin/env bash
# Reruns the issue-7 reference-style workloads (same sizes, same step counts) with BenchmarkDotNet ShortRun and prints
# the comparison table (reference times from the issue; SheafCore times measured now). Takes a few minutes; on a
# shared machine run it when the load is low and read the load average it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/SheafCore.Benchmarks -c Release --nologo -v q
dotnet bench/SheafCore.Benchmarks/bin/Release/net10.0/SheafCore.Benchmarks.dll compare 2>&1 | tee /tmp/sheafcore-compare.log | sed -n '/^Load average before/,$p'
