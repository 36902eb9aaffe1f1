#!/usr/bin/env python3
"""Random hyper-parameter search for Diag-NSD on a data set without a released configuration (docs/nsd.md,
"Hyper-parameter search"). Every run is one `sheafcore nsd` call; nothing here trains by itself.

  nsd_search.py screen DATASET N SEED   N draws from the released sweep's ranges (digest §6.2, lr fixed at 0.02)
                                        plus the stopping criterion, each on splits 0-2 -> OUT/DATASET/cNN.json
  nsd_search.py final DATASET           the draw with the best mean VALIDATION accuracy over splits 0-2, run on
                                        splits 3-9 -> OUT/DATASET-final-3-9.json (with splits 0-2 of the screening
                                        run it is the 10-split result: each split has its own seed stream)

Environment: SHEAFCORE_CLI (path of SheafCore.Cli.dll; default the Release build of this checkout),
SHEAFCORE_GRAPHS (default ../shared/data/graphs), OUT (default nsd-search)."""
import glob, json, math, os, random, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("SHEAFCORE_CLI", os.path.join(ROOT, "src/SheafCore.Cli/bin/Release/net10.0/SheafCore.Cli.dll"))
GRAPHS = os.environ.get("SHEAFCORE_GRAPHS", os.path.join(ROOT, "..", "shared", "data", "graphs"))
OUT = os.environ.get("OUT", "nsd-search")


def draw(rng):
    return {"--stalk-dim": rng.choice([2, 3, 4]), "--layers": rng.choice([2, 3, 4, 5, 6]),
            "--hidden": rng.choice([8, 16, 32]), "--lp": rng.choice(["true", "false"]),
            "--hp": rng.choice(["true", "false"]), "--dropout": rng.choice(range(10)) / 10,
            "--input-dropout": rng.choice(range(10)) / 10, "--weight-decay": math.exp(rng.uniform(-9.2, -6.8)),
            "--sheaf-decay": math.exp(rng.uniform(-11, -6.8)), "--lr": 0.02,
            "--stop-on": rng.choice(["loss", "acc"]), "--epochs": 1000, "--patience": 100}


def flags(o):
    b = lambda x: "true" if x else "false"
    return {"--stalk-dim": o["stalkDimension"], "--layers": o["layers"], "--hidden": o["hiddenChannels"],
            "--lp": b(o["lowPass"]), "--hp": b(o["highPass"]), "--dropout": o["dropout"],
            "--input-dropout": o["inputDropout"], "--weight-decay": o["weightDecay"], "--sheaf-decay": o["sheafDecay"],
            "--lr": o["learningRate"], "--stop-on": "acc" if o["stopOnAccuracy"] else "loss",
            "--epochs": o["epochs"], "--patience": o["patience"], "--second-linear": b(o["secondLinear"])}


def run(dataset, splits, report, config):
    args = ["dotnet", CLI, "nsd", "--dataset", os.path.join(GRAPHS, dataset), "--model", "diag",
            "--splits", splits, "--quiet", "--report", report]
    for k, v in config.items():
        args += [k, repr(v) if isinstance(v, float) else str(v)]
    print(" ".join(args), flush=True)
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    command, dataset = sys.argv[1], sys.argv[2]
    folder = os.path.join(OUT, dataset)
    os.makedirs(folder, exist_ok=True)
    if command == "screen":
        rng = random.Random(int(sys.argv[4]))
        for i in range(int(sys.argv[3])):
            config = draw(rng)
            report = os.path.join(folder, f"c{i:02d}.json")
            if not os.path.exists(report):
                run(dataset, "0-2", report, config)
    elif command == "final":
        scored = []
        for f in sorted(glob.glob(os.path.join(folder, "*.json"))):
            r = json.load(open(f))
            if len(r.get("validationAccuracy", [])) == 3:
                scored.append((sum(r["validationAccuracy"]) / 3, f, r))
        value, chosen, r = max(scored, key=lambda s: s[0])
        print(f"{dataset}: chosen {chosen}, mean validation accuracy {100 * value:.2f} % on splits 0-2", flush=True)
        run(dataset, "3-9", os.path.join(OUT, f"{dataset}-final-3-9.json"), flags(r["options"]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
