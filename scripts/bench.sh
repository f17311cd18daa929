#!/usr/bin/env bash
# The whole nightly job on about a million synthetic records: generation,
# then `carematch run`, whose manifest records wall time, CPU and peak memory.
# BENCH_PERSONS (default 570000, about 1.0 million records) and BENCH_DIR
# override the size and the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${BENCH_PERSONS:-570000}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/carematch-bench}
rm -rf "$dir"
echo "== fixtures: $persons persons into $dir"
./bin/carematch fixtures --persons "$persons" --seed 7 --out "$dir" > "$dir.fixtures.txt"
head -1 "$dir.fixtures.txt"
echo "== carematch run"
./bin/carematch run --quiet --config "$dir/carematch.toml"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), $(go version | cut -d' ' -f3)"
