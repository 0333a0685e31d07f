#!/usr/bin/env python3
"""Tabulate CIFAR-10 recipe trial runs (cifar10-compare --only none ... --out DIR).

Each DIR is a finished sweep of the baseline alone. Prints a Markdown table: the recipe
(from the sweep's fingerprint), the test accuracy on the first images evaluated during
training at a quarter, half and three quarters of the run, and the final accuracy on the
whole test set (results.csv). Standard library only.

    scripts/recipe_trials.py docs/results/cifar10-fast-trials/*/
"""
import csv
import json
import sys
from pathlib import Path

# Recipe fields shown, with their short names: the learning rate always, the others where they
# differ from the reference's recipe.
REFERENCE = {"momentum": 0.0, "nesterov": False, "schedule": "staircase",
             "weight_decay": 0.004, "other_weight_decay": 0.0, "ema_decay": 0.9999}
SHORT = {"learning_rate": "lr", "momentum": "momentum", "nesterov": "nesterov", "schedule": "schedule",
         "weight_decay": "wd", "other_weight_decay": "other_wd", "ema_decay": "ema", "decay_steps": "decay_steps",
         "warmup_steps": "warmup"}


def number(text):
    return float(text) if text not in ("", None) else None


def evaluated(log_paths):
    """(step, metric) rows of the logs, the prefix's then the branch's."""
    rows = []
    for path in log_paths:
        if not path.exists():
            continue
        with path.open() as f:
            for r in csv.DictReader(f):
                if r.get("metric"):
                    rows.append((int(r["step"]), float(r["metric"])))
    return rows


def metric_at(rows, step):
    """The last evaluation at or before `step`."""
    before = [m for s, m in rows if s <= step]
    return before[-1] if before else None


def describe(recipe):
    parts = []
    for key, short in SHORT.items():
        if key not in recipe:
            continue
        value = recipe[key]
        if key in REFERENCE and (value == REFERENCE[key] or
                                 (isinstance(value, float) and abs(value - REFERENCE[key]) <= 1e-6 * abs(REFERENCE[key]))):
            continue
        if key == "decay_steps" and value == 0:
            continue
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{short}={value}")
    return ", ".join(parts) or "the reference's"


def main(dirs):
    if not dirs:
        sys.exit(__doc__)
    print("| trial | preset | recipe | steps | acc. at 1/4 | 1/2 | 3/4 | final (all 10000) |")
    print("|---|---|---|---|---|---|---|---|")
    for d in map(Path, dirs):
        try:
            fingerprint = json.loads((d / "fingerprint.json").read_text())
            with (d / "results.csv").open() as f:
                baseline = next(r for r in csv.DictReader(f) if r["method"] == "none")
        except (OSError, StopIteration, KeyError, ValueError) as e:
            sys.exit(f"recipe_trials: {d} is not a finished trial ({e})")
        total = fingerprint["preset"]["total_steps"]
        rows = evaluated([d / "prefix" / "log.csv", d / "branches" / "none" / "log.csv"])
        quarters = [metric_at(rows, total * q // 4) for q in (1, 2, 3)]
        cells = ["" if m is None else f"{m:.3f}" for m in quarters]
        print(f"| {d.name} | {fingerprint['preset']['name']} | {describe(fingerprint['recipe'])} | {total} | "
              + " | ".join(cells) + f" | {float(baseline['accuracy']):.4f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
