#!/usr/bin/env python3
"""Table and plots of the BM_Factor suite (matcomp-bench), beside numpy / scikit-learn.

  build/bin/matcomp-bench --benchmark_filter='^BM_Factor/' --benchmark_out=ours.json --benchmark_out_format=json
  scripts/factorizer_report.py ours.json [--theirs theirs.json] [--markdown table.md] [--svg PREFIX]

ours.json: Google Benchmark JSON (--benchmark_format=json or --benchmark_out). Several runs
of one case (repetitions, or the interleaved runs scripts/compare_factorizers.py --suite
writes) become their median time; a "median" aggregate is used where the file has one.
theirs.json: what compare_factorizers.py --suite writes for the same cases.

Writes a Markdown table (method, ratio, shape, matrix, rel_error, stored_bytes,
achieved_ratio, time) and, with --theirs, a second one of numpy / scikit-learn on the same
matrices with the time ratio theirs / ours; --svg PREFIX draws PREFIX-error.svg (relative
error against stored bytes, one colour per method, theirs hollow) and PREFIX-time.svg (time
against stored bytes, log-log). --summary writes the rows as JSON (what the tests read).
Standard library only; files are written atomically.
"""
import argparse
import json
import math
import os
import statistics
import sys
import tempfile

TO_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def fail(message):
    sys.exit(f"factorizer_report: error: {message}")


def load_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        fail(f"{path}: cannot read {what}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}: {what} is not JSON ({e})")


def case_name(name):
    """The case without Google Benchmark's "/real_time" suffix (the suite times wall clock)."""
    return name[:-len("/real_time")] if name.endswith("/real_time") else name


def parse_name(name):
    """BM_Factor/<method>/<m>x<n>/r<ratio>/<matrix> -> dict; None for other benchmarks."""
    parts = case_name(name).split("/")
    if len(parts) < 5 or parts[0] != "BM_Factor" or not parts[3].startswith("r"):
        return None
    try:
        m, n = (int(x) for x in parts[2].split("x"))
        ratio = float(parts[3][1:])
    except ValueError:
        return None
    return {"method": parts[1], "m": m, "n": n, "shape": parts[2], "ratio": ratio, "matrix": "/".join(parts[4:])}


def ours_rows(doc, path):
    """One row per BM_Factor case, in the order of first appearance."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        fail(f"{path}: not Google Benchmark JSON (no \"benchmarks\" list)")
    runs, medians, errors, order = {}, {}, {}, []
    for b in doc["benchmarks"]:
        name = case_name(b.get("run_name", b.get("name", "")))
        # A case that could not be set up at all (BM_Factor/trained: unreadable weights) has
        # no method/shape/ratio in its name; it is kept as a skipped row.
        if parse_name(name) is None and not (name.startswith("BM_Factor/") and b.get("error_occurred")):
            continue
        if name not in order:
            order.append(name)
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "skipped")
        elif b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b
        else:
            runs.setdefault(name, []).append(b)
    if not order:
        fail(f"{path}: holds no BM_Factor case (run matcomp-bench with --benchmark_filter='^BM_Factor/')")
    rows = []
    for name in order:
        row = dict(parse_name(name) or {"method": name.split("/")[1], "m": 0, "n": 0, "shape": "-", "ratio": None,
                                         "matrix": "-"}, name=name)
        chosen = [medians[name]] if name in medians else runs.get(name, [])
        if not chosen:
            row["error"] = errors.get(name, "no result")
            rows.append(row)
            continue
        for key in ("rel_error", "stored_bytes", "achieved_ratio"):
            if key not in chosen[0]:
                fail(f"{path}: {name} has no counter {key!r}")
            row[key] = float(chosen[0][key])
        row["seconds"] = statistics.median(float(b["real_time"]) * TO_SECONDS[b.get("time_unit", "ns")] for b in chosen)
        row["runs"] = len(chosen)
        try:
            row["settings"] = json.loads(chosen[0].get("label", "{}")).get("settings", {})
        except json.JSONDecodeError:
            row["settings"] = {}
        rows.append(row)
    return rows


def theirs_rows(doc, path, ours_by_name):
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        fail(f"{path}: not compare_factorizers.py --suite output (no \"cases\" list)")
    rows = []
    for c in doc["cases"]:
        try:
            row = dict(parse_name(c["name"]) or {}, name=case_name(c["name"]), library=c["library"],
                       seconds=float(c["median_seconds"]), rel_error=float(c["rel_error"]), runs=len(c["seconds"]))
        except (KeyError, TypeError, ValueError) as e:
            fail(f"{path}: malformed case {c!r} ({e})")
        if "method" not in row:
            fail(f"{path}: case name {c['name']!r} is not a BM_Factor name")
        mine = ours_by_name.get(case_name(c["name"]))
        if mine is not None and "seconds" in mine:
            row["stored_bytes"] = mine["stored_bytes"]
            row["ours_seconds"], row["ours_rel_error"] = mine["seconds"], mine["rel_error"]
        rows.append(row)
    return rows


def fmt_time(seconds):
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def markdown(rows, theirs):
    out = ["| method | ratio | shape | matrix | settings | rel_error | stored_bytes | achieved_ratio | time |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:g}"
        head = f"| {r['method']} | {ratio} | {r['shape']} | {r['matrix']} |"
        if "error" in r:
            out.append(f"{head} skipped: {str(r['error']).replace('|', '/')} | | | | |")
            continue
        settings = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in r["settings"].items() if k not in ("seed", "rows"))
        out.append(f"{head} {settings} | {r['rel_error']:.4f} | {int(r['stored_bytes'])} | {r['achieved_ratio']:.4f} | "
                   f"{fmt_time(r['seconds'])} |")
    if theirs:
        out += ["", "| case | library | their rel_error | our rel_error | their time | our time | theirs / ours |",
                "|---|---|---|---|---|---|---|"]
        for t in theirs:
            case = f"{t['method']} {t['ratio']:g} {t['shape']} {t['matrix']}"
            if "ours_seconds" in t:
                out.append(f"| {case} | {t['library']} | {t['rel_error']:.4f} | {t['ours_rel_error']:.4f} | "
                           f"{fmt_time(t['seconds'])} | {fmt_time(t['ours_seconds'])} | {t['seconds'] / t['ours_seconds']:.2f} |")
            else:
                out.append(f"| {case} | {t['library']} | {t['rel_error']:.4f} | (not run) | {fmt_time(t['seconds'])} | | |")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------ SVG
def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def scatter_svg(title, x_label, y_label, series, log_y):
    """series: [(name, color, hollow, [(x, y)])]; x is always log-scaled."""
    W, H, L, R, T, B = 900, 460, 70, 330, 40, 50
    pts = [(x, y) for _, _, _, p in series for x, y in p if x > 0 and (y > 0 or not log_y) and math.isfinite(y)]
    if not pts:
        return None
    fx = math.log10
    fy = math.log10 if log_y else (lambda v: v)
    x0, x1 = math.floor(min(fx(x) for x, _ in pts)), math.ceil(max(fx(x) for x, _ in pts))
    ys = [fy(y) for _, y in pts]
    y0, y1 = (math.floor(min(ys)), math.ceil(max(ys))) if log_y else (0.0, max(1e-9, max(ys)) * 1.05)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1)

    def px(x):
        return L + (fx(x) - x0) / (x1 - x0) * (W - L - R)

    def py(y):
        return H - B - (fy(y) - y0) / (y1 - y0) * (H - T - B)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{esc(title)}</text>',
         f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
         f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>']
    for e in range(x0, x1 + 1):
        x = px(10 ** e)
        s.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H - B}" stroke="#ddd"/>')
        s.append(f'<text x="{x:.1f}" y="{H - B + 16}" text-anchor="middle">1e{e}</text>')
    yticks = [10 ** e for e in range(int(y0), int(y1) + 1)] if log_y else [y0 + (y1 - y0) * i / 5 for i in range(6)]
    for v in yticks:
        y = py(v)
        s.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#ddd"/>')
        s.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.3g}</text>')
    s.append(f'<text x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">{esc(x_label)}</text>')
    s.append(f'<text x="16" y="{(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 {(T + H - B) / 2})">'
             f'{esc(y_label)}</text>')
    legend_y = T
    for name, color, hollow, p in series:
        fill = "none" if hollow else color
        for x, y in p:
            if x > 0 and (y > 0 or not log_y) and math.isfinite(y):
                s.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{fill}" stroke="{color}"/>')
        s.append(f'<circle cx="{W - R + 16}" cy="{legend_y}" r="4" fill="{fill}" stroke="{color}"/>')
        s.append(f'<text x="{W - R + 26}" y="{legend_y + 4}">{esc(name)}</text>')
        legend_y += 18
    s.append("</svg>")
    return "\n".join(s) + "\n"


def plots(rows, theirs):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    color = {m: COLORS[i % len(COLORS)] for i, m in enumerate(methods)}
    ok = [r for r in rows if "seconds" in r]
    libraries = list(dict.fromkeys((t["method"], t["library"]) for t in theirs if "stored_bytes" in t))

    def series(y_key):
        out = [(m, color[m], False, [(r["stored_bytes"], r[y_key]) for r in ok if r["method"] == m]) for m in methods]
        out += [(lib, color.get(m, "#000"), True,
                 [(t["stored_bytes"], t[y_key]) for t in theirs if t["library"] == lib and "stored_bytes" in t])
                for m, lib in libraries]
        return out
    return (scatter_svg("relative error against stored size (filled: matcomp, hollow: numpy / scikit-learn)",
                        "stored bytes (log)", "||A - Â||_F / ||A||_F", series("rel_error"), log_y=False),
            scatter_svg("time per factorization (filled: matcomp, hollow: numpy / scikit-learn)",
                        "stored bytes (log)", "seconds (log)", series("seconds"), log_y=True))


def write_atomically(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp_" + os.path.basename(path))
    except OSError as e:
        fail(f"{path}: cannot write: {e.strerror}")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ours", help="Google Benchmark JSON with BM_Factor cases")
    ap.add_argument("--theirs", help="compare_factorizers.py --suite output for the same cases")
    ap.add_argument("--markdown", help="write the tables here (default: print them)")
    ap.add_argument("--svg", metavar="PREFIX", help="write PREFIX-error.svg and PREFIX-time.svg")
    ap.add_argument("--summary", help="write the rows as JSON here")
    args = ap.parse_args()
    rows = ours_rows(load_json(args.ours, "benchmark results"), args.ours)
    theirs = []
    if args.theirs:
        theirs = theirs_rows(load_json(args.theirs, "library results"), args.theirs, {r["name"]: r for r in rows})
    table = markdown(rows, theirs)
    if args.markdown:
        write_atomically(args.markdown, table)
    else:
        sys.stdout.write(table)
    if args.svg:
        for suffix, svg in zip(("error", "time"), plots(rows, theirs)):
            if svg is not None:
                write_atomically(f"{args.svg}-{suffix}.svg", svg)
    if args.summary:
        write_atomically(args.summary, json.dumps({"ours": rows, "theirs": theirs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
