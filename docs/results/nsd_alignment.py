#!/usr/bin/env python3
"""Summarise the learned-sheaf alignment of `sheafcore nsd` reports (docs/results/nsd.md, "What the learned maps do").

  nsd_alignment.py TRAINED.json [AFTER_ONE_EPOCH.json] ...   pairs: a trained run and the same run with --epochs 1

For each pair, prints one markdown row: data set, family, splits, test accuracy, and the last layer's mean
alignment on same-label and different-label edges (mean over splits), trained and after one epoch."""
import json, statistics as st, sys


def last_layer(report):
    a = report["sheafAlignment"]
    return st.mean(x["sameLabel"][-1] for x in a), st.mean(x["differentLabel"][-1] for x in a), len(a)


def main():
    files = sys.argv[1:]
    if not files or len(files) % 2:
        sys.exit(__doc__)
    for trained_path, initial_path in zip(files[::2], files[1::2]):
        trained, initial = json.load(open(trained_path)), json.load(open(initial_path))
        same, different, k = last_layer(trained)
        same0, different0, k0 = last_layer(initial)
        assert k == k0, f"{trained_path} and {initial_path} cover different splits"
        splits = trained["splits"]
        print(f"| {trained['dataset']} | {trained['model']} | {splits[0]}–{splits[-1]} | {100 * trained['mean']:.2f} | "
              f"{same:.3f} | {different:.3f} | {same - different:+.3f} | {same0:.3f} | {different0:.3f} | {same0 - different0:+.3f} |")


if __name__ == "__main__":
    main()
