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
STYLES_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments", "plot", "method_styles.json")


def load_styles(path=STYLES_JSON):
    """The method styles every matcomp figure uses (experiments/plot/method_styles.json)."""
    doc = load_json(path, "the method styles")
    try:
        return doc["methods"], doc["palette"], doc["markers"], doc["dashes"]
    except KeyError as e:
        fail(f"{path}: no {e} table")


def method_style(method, styles):
    """As experiments/plot/method_style.cpp: the table's entry, else three digits of the FNV-1a
    hash of the name pick a colour, a marker and a dash pattern."""
    fixed, palette, markers, dashes = styles
    if method in fixed:
        s = fixed[method]
        return s["colour"], s["marker"], s["dash"]
    h = 1469598103934665603
    for c in method.encode():
        h = ((h ^ c) * 1099511628211) % (1 << 64)
    n = len(palette)
    return palette[h % n], markers[(h // n) % n], dashes[(h // (n * n)) % n]


def esc(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def marker_svg(shape, x, y, r, colour, hollow):
    """The C++ plots' marker shapes (svg_plot.cpp); hollow: white inside, for the anchors."""
    fill = "white" if hollow else colour
    edge = f' stroke="{colour}" stroke-width="{r / 2.5:.2f}"' if hollow else ""
    attrs = f'class="marker" data-shape="{shape}"'
    if shape == "circle":
        return f'<circle {attrs} cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}"{edge}/>'
    if shape in ("cross", "plus"):
        d = (f"M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x - r:.1f},{y + r:.1f}L{x + r:.1f},{y - r:.1f}"
             if shape == "cross" else f"M{x - 1.2 * r:.1f},{y:.1f}H{x + 1.2 * r:.1f}M{x:.1f},{y - 1.2 * r:.1f}V{y + 1.2 * r:.1f}")
        return f'<path {attrs} d="{d}" fill="none" stroke="{colour}" stroke-width="{r / 2.2:.2f}"/>'
    if shape == "square":
        d = f"M{x - 0.85 * r:.1f},{y - 0.85 * r:.1f}h{1.7 * r:.1f}v{1.7 * r:.1f}h{-1.7 * r:.1f}Z"
    elif shape == "triangle":
        d = f"M{x:.1f},{y - 1.2 * r:.1f}L{x + 1.1 * r:.1f},{y + 0.8 * r:.1f}L{x - 1.1 * r:.1f},{y + 0.8 * r:.1f}Z"
    elif shape == "triangle-down":
        d = f"M{x:.1f},{y + 1.2 * r:.1f}L{x + 1.1 * r:.1f},{y - 0.8 * r:.1f}L{x - 1.1 * r:.1f},{y - 0.8 * r:.1f}Z"
    elif shape == "diamond":
        d = f"M{x:.1f},{y - 1.25 * r:.1f}L{x + r:.1f},{y:.1f}L{x:.1f},{y + 1.25 * r:.1f}L{x - r:.1f},{y:.1f}Z"
    else:  # star (and "none": a star still marks the point)
        pts = []
        for i in range(10):
            a, rr = -math.pi / 2 + i * math.pi / 5, (0.5 if i % 2 else 1.3) * r
            pts.append(f"{x + rr * math.cos(a):.1f},{y + rr * math.sin(a):.1f}")
        d = "M" + "L".join(pts) + "Z"
    return f'<path {attrs} d="{d}" fill="{fill}"{edge}/>'


def nice_ticks(lo, hi, count=5):
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m for m in (1, 2, 5, 10) if raw / mag <= m * 1.0001) * mag
    first = math.ceil(lo / step - 1e-9)
    return [round(k * step, 12) for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]


def log_ticks(lo_exp, hi_exp):
    """1, 2 and 5 times each power of ten in [10^lo_exp, 10^hi_exp]; decades alone when that is plenty."""
    decades = [10.0 ** e for e in range(lo_exp, hi_exp + 1)]
    if len(decades) >= 5:
        return decades
    return [m * 10.0 ** e for e in range(lo_exp, hi_exp + 1) for m in (1, 2, 5) if m * 10.0 ** e <= 10.0 ** hi_exp * 1.0001]


def tick_text(v):
    """Round tick values, one style per axis: 20k, 1M for bytes; 0.001, 0.01 ... for seconds."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


def scatter_svg(title, x_label, y_label, series, log_y, styles):
    """series: [(name, method, hollow, [(x, y)])]: matcomp's points joined by the method's line,
    the anchors' hollow; x is always log-scaled."""
    W, H, L, R, T, B = 900, 460, 70, 330, 40, 50
    pts = [(x, y) for _, _, _, p in series for x, y in p if x > 0 and (y > 0 or not log_y) and math.isfinite(y)]
    if not pts:
        return None
    fy = math.log10 if log_y else (lambda v: v)
    # The data's range on a log axis, padded by 5 % of it; ticks at 1, 2 and 5 times powers of ten.
    lx = [math.log10(x) for x, _ in pts]
    pad = 0.05 * max(max(lx) - min(lx), 0.2)
    x0, x1 = min(lx) - pad, max(lx) + pad
    xticks = [v for v in log_ticks(math.floor(x0), math.ceil(x1)) if x0 <= math.log10(v) <= x1]
    if log_y:
        y0, y1 = math.floor(min(fy(y) for _, y in pts)), math.ceil(max(fy(y) for _, y in pts))
        y1 = y1 if y1 > y0 else y0 + 1
        yticks = log_ticks(y0, y1)
    else:
        yticks = nice_ticks(0.0, max(1e-9, max(y for _, y in pts)) * 1.05)
        y0, y1 = 0.0, max(yticks[-1], max(y for _, y in pts))

    def px(x):
        return L + (math.log10(x) - x0) / (x1 - x0) * (W - L - R)

    def py(y):
        return H - B - (fy(y) - y0) / (y1 - y0) * (H - T - B)
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{esc(title)}</text>']
    for v in xticks:
        x = px(v)
        s.append(f'<line x1="{x:.1f}" y1="{T}" x2="{x:.1f}" y2="{H - B}" stroke="#e5e5e5"/>')
        s.append(f'<text class="tick-label" x="{x:.1f}" y="{H - B + 16}" text-anchor="middle">{tick_text(v)}</text>')
    for v in yticks:
        y = py(v)
        s.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - R}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        s.append(f'<text class="tick-label" x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{tick_text(v)}</text>')
    s.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#333"/>')
    s.append(f'<text class="axis-label" x="{(L + W - R) / 2}" y="{H - 12}" text-anchor="middle">{esc(x_label)}</text>')
    s.append(f'<text class="axis-label" x="16" y="{(T + H - B) / 2}" text-anchor="middle" '
             f'transform="rotate(-90 16 {(T + H - B) / 2})">{esc(y_label)}</text>')
    legend_y = T + 8
    for name, method, hollow, p in series:
        colour, shape, dash = method_style(method, styles)
        dash_attr = f' stroke-dasharray="{dash}"' if dash and not hollow else ""
        drawn = sorted((x, y) for x, y in p if x > 0 and (y > 0 or not log_y) and math.isfinite(y))
        if not hollow and len(drawn) > 1:
            line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in drawn)
            s.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{line}"/>')
        s.extend(marker_svg(shape, px(x), py(y), 4, colour, hollow) for x, y in drawn)
        if not name:
            continue
        lx = W - R + 12
        if not hollow:
            s.append(f'<line x1="{lx}" x2="{lx + 28}" y1="{legend_y}" y2="{legend_y}" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        s.append(marker_svg(shape, lx + 14, legend_y, 4, colour, hollow))
        s.append(f'<text class="legend-label" x="{lx + 36}" y="{legend_y + 4}">{esc(name)}</text>')
        legend_y += 18
    s.append("</svg>")
    return "\n".join(s) + "\n"


def plots(rows, theirs, styles):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    ok = [r for r in rows if "seconds" in r]
    libraries = list(dict.fromkeys((t["method"], t["library"]) for t in theirs if "stored_bytes" in t))

    def series(y_key):
        # One line per method and matrix (a method's ratios on one matrix); one legend entry per
        # method is enough, so only the first line of each carries the name.
        out = []
        for m in methods:
            matrices = list(dict.fromkeys((r["shape"], r["matrix"]) for r in ok if r["method"] == m))
            for i, key in enumerate(matrices):
                pts = [(r["stored_bytes"], r[y_key]) for r in ok if r["method"] == m and (r["shape"], r["matrix"]) == key]
                out.append((m if i == 0 else "", m, False, pts))
        out += [(lib, m, True, [(t["stored_bytes"], t[y_key]) for t in theirs if t["library"] == lib and "stored_bytes" in t])
                for m, lib in libraries]
        return [entry for entry in out if entry[0] or entry[3]]
    return (scatter_svg("relative error against stored size (filled: matcomp, hollow: numpy / scikit-learn)",
                        "stored bytes (log scale)", "||A - Â||_F / ||A||_F", series("rel_error"), False, styles),
            scatter_svg("time per factorization (filled: matcomp, hollow: numpy / scikit-learn)",
                        "stored bytes (log scale)", "seconds (log scale)", series("seconds"), True, styles))


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
        for suffix, svg in zip(("error", "time"), plots(rows, theirs, load_styles())):
            if svg is not None:
                write_atomically(f"{args.svg}-{suffix}.svg", svg)
    if args.summary:
        write_atomically(args.summary, json.dumps({"ours": rows, "theirs": theirs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
