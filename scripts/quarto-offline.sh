#!/usr/bin/env bash
# Build the real Quarto CLI (1.10.18) offline, to check the manuscript against it.
#
#   scripts/quarto-offline.sh QUARTO_GIT STD_GIT [PREFIX]
#   (or QUARTO_GIT=... STD_GIT=... PREFIX=... scripts/quarto-offline.sh)
#
# QUARTO_GIT and STD_GIT are the git directories of snapshots of quarto-dev/quarto-cli and
# denoland/std. The build itself is the shared recipe BUILD.sh (Quarto run from source on
# Deno from the npm registry, Pandoc from pypandoc-binary, a Typst shim over the `typst`
# package); this repository holds no Quarto code. Set QUARTO_BUILD_SH if the recipe is not
# at ../shared/tools/quarto-offline/BUILD.sh next to the repository.
# Afterwards: export PATH="$PREFIX/bin:$PATH"; make report; .venv/bin/python -m pytest tests/test_quarto_parity.py
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
export QUARTO_GIT="${1:-${QUARTO_GIT:-}}"
export STD_GIT="${2:-${STD_GIT:-}}"
export PREFIX="${3:-${PREFIX:-$HOME/.cache/quarto-offline}}"
BUILD_SH="${QUARTO_BUILD_SH:-}"
if [ -z "$BUILD_SH" ]; then
  for candidate in "$HERE/../shared/tools/quarto-offline/BUILD.sh" "$HERE/../../shared/tools/quarto-offline/BUILD.sh"; do
    if [ -f "$candidate" ]; then BUILD_SH="$candidate"; break; fi
  done
fi
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ -n "$QUARTO_GIT" ] && [ -n "$STD_GIT" ] || { echo "error: give the git directories of quarto-cli and denoland/std" >&2; usage; }
for dir in "$QUARTO_GIT" "$STD_GIT"; do
  git --git-dir="$dir" rev-parse --git-dir >/dev/null 2>&1 || { echo "error: $dir is not a git directory" >&2; exit 1; }
done
[ -n "$BUILD_SH" ] && [ -f "$BUILD_SH" ] || { echo "error: BUILD.sh not found; set QUARTO_BUILD_SH=/path/to/BUILD.sh" >&2; exit 1; }
case "$PREFIX" in "$HERE"|"$HERE"/*) echo "error: PREFIX must be outside the repository ($PREFIX)" >&2; exit 1;; esac
echo "building Quarto into $PREFIX with $BUILD_SH" >&2
bash "$BUILD_SH"
"$PREFIX/bin/quarto" --version
echo "done: export PATH=\"$PREFIX/bin:\$PATH\"" >&2
