#!/usr/bin/env bash
# Runs the commands of a Markdown file that are marked as runnable, exactly as written, from a
# scratch folder that looks like the repository root (its entries linked, build/ linked to
# the build tree), and fails on the first that fails.
#   run_doc_commands.sh <doc.md> <source dir> <build dir>
# A block is runnable when its fence reads ```sh runnable; ```sh runnable-with-data blocks
# also run, but only when $MATCOMP_DATA is set (they say --data "$MATCOMP_DATA"). Other
# blocks (long sweeps) are prose.
set -euo pipefail
doc="$1"; src="$2"; build="$3"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for entry in "$src"/*; do
  name="$(basename "$entry")"
  [ "$name" = build ] || ln -s "$entry" "$scratch/$name"
done
ln -s "$build" "$scratch/build"

blocks="$(awk -v data="${MATCOMP_DATA:-}" '
  /^```sh runnable-with-data[[:space:]]*$/ { inblock = (data != ""); skipped += (data == ""); next }
  /^```sh runnable[[:space:]]*$/ { inblock = 1; next }
  /^```/ { inblock = 0; next }
  inblock { print }
  END { if (skipped) printf "# %d block(s) need MATCOMP_DATA: skipped\n", skipped > "/dev/stderr" }
' "$doc")"
[ -n "$blocks" ] || { echo "$doc: no runnable command found" >&2; exit 1; }
count=0
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  count=$((count + 1))
  echo "\$ $line"
  if ! (cd "$scratch" && bash -euo pipefail -c "$line") > "$scratch/.out" 2>&1; then
    cat "$scratch/.out"
    echo "$doc: this command failed: $line" >&2
    exit 1
  fi
  tail -n 3 "$scratch/.out"
done <<< "$blocks"
echo "$doc: $count command(s) ran"
