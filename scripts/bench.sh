#!/usr/bin/env bash
# The whole nightly job on about two million synthetic records: generation,
# then `carematch run`, which prints its time, CPU, peak memory and a table
# of its stages (the manifest has them too). BENCH_PERSONS (default 1150000,
# about 2.0 million records; 570000 is about a million) and BENCH_DIR override
# the size and the folder. BENCH_MEMORY_LIMIT (e.g. 900MB) sets the run's
# memory_limit: at two million records 900MB is the pressure ten million
# put on this machine's default, and the run must spill, not fail.
set -euo pipefail
cd "$(dirname "$0")/.."
persons=${BENCH_PERSONS:-1150000}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/carematch-bench}
rm -rf "$dir"
echo "== fixtures: $persons persons into $dir"
./bin/carematch fixtures --persons "$persons" --seed 7 --out "$dir" > "$dir.fixtures.txt"
head -1 "$dir.fixtures.txt"
if [ -n "${BENCH_MEMORY_LIMIT:-}" ]; then
	sed -i "s/^\[run\]/[run]\nmemory_limit = \"$BENCH_MEMORY_LIMIT\"/" "$dir/carematch.toml"
	echo "== memory_limit $BENCH_MEMORY_LIMIT"
fi
echo "== carematch run"
./bin/carematch run --quiet --config "$dir/carematch.toml"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), $(go version | cut -d' ' -f3)"
