#!/usr/bin/env python3
"""How far a rerun moved a sweep: two results.csv files of the same sweep, branch by branch.

Prints every (method, ratio) row with the metric before and after, then the median, mean and
largest absolute change over the compressed branches found in both files, and the uncompressed
branch's change on its own (docs/results/README.md, "How far a rerun moves it"). Standard library only.

    scripts/compare_results.py OLD/results.csv NEW/results.csv [--metric perplexity]
    scripts/compare_results.py <(git show REV:docs/results/cifar10-standard/results.csv) \\
        docs/results/cifar10-standard/results.csv
"""
import argparse
import csv
import statistics
import sys


def read_rows(path, metric):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "method" not in rows[0] or "ratio" not in rows[0] or metric not in rows[0]:
        sys.exit(f"{path}: expected a results.csv with method, ratio and {metric} columns")
    return {(r["method"], float(r["ratio"])): float(r[metric]) for r in rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--metric", default="accuracy", help="the results.csv column (default accuracy)")
    args = parser.parse_args()
    old, new = read_rows(args.old, args.metric), read_rows(args.new, args.metric)
    changes = []
    for key in sorted(new):
        method, ratio = key
        if key not in old:
            print(f"{method:11s} {ratio:<6g} new {new[key]:10.4f}  (not in the old file)")
            continue
        change = new[key] - old[key]
        print(f"{method:11s} {ratio:<6g} old {old[key]:10.4f}  new {new[key]:10.4f}  change {change:+.4f}")
        if method != "none":
            changes.append(abs(change))
    if not changes:
        sys.exit("no compressed branch is in both files")
    print(f"compressed branches in both: {len(changes)}; |change| median {statistics.median(changes):.4f}, "
          f"mean {statistics.mean(changes):.4f}, largest {max(changes):.4f}")
    if ("none", 1.0) in old and ("none", 1.0) in new:
        print(f"uncompressed: {old[('none', 1.0)]:.4f} then, {new[('none', 1.0)]:.4f} now")


if __name__ == "__main__":
    main()
