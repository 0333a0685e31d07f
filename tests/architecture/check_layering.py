#!/usr/bin/env python3
"""Checks the rule of docs/ARCHITECTURE.md: a library area includes only itself and the areas
below it. Reads every #include "matcomp/<area>/..." in the areas' .h/.cpp files.
Usage: check_layering.py REPO_ROOT   (exit 1 with one line per broken include)"""
import pathlib
import re
import sys

# Each area and what it may include besides itself (the picture in docs/ARCHITECTURE.md).
ALLOWED = {
    "core": set(),
    "autograd": {"core"},
    "layers": {"core", "autograd"},
    "compression": {"core", "autograd", "layers"},
    "formats": {"core", "autograd", "layers", "compression"},
    "distributed": {"core", "autograd", "layers", "compression", "formats"},
    "datasets": {"core"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*"matcomp/([a-z_]+)/')


def broken_includes(root):
    for area, allowed in ALLOWED.items():
        for path in sorted((root / area).rglob("*")):
            if path.suffix not in (".h", ".cpp"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = INCLUDE.match(line)
                if match and match.group(1) != area and match.group(1) not in allowed:
                    yield f"{path.relative_to(root)}:{number}: {area}/ may not include {match.group(1)}/ ({line.strip()})"


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    missing = [a for a in ALLOWED if not (root / a).is_dir()]
    if missing:
        print(f"check_layering: no folder {', '.join(missing)} under {root}", file=sys.stderr)
        return 2
    problems = list(broken_includes(root))
    for p in problems:
        print(p)
    print(f"check_layering: {len(problems)} include(s) against the rule" if problems else
          f"check_layering: every include of {', '.join(ALLOWED)} follows the rule")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
