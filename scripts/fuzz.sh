#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer, on the stable toolchain.
#
#   scripts/fuzz.sh SECONDS [TARGET...]   (default: every target)
#   FUZZ_JOBS=2 scripts/fuzz.sh ...       (two targets at a time)
#   FUZZ_JOBS=2 scripts/fuzz.sh S T T     (one target in two processes)
#
# cargo-fuzz wants a nightly compiler for its sanitizer flags; nothing
# else does. libfuzzer-sys builds libFuzzer with the machine's C++
# compiler, and rustc's stable -C flags insert the same coverage
# instrumentation cargo-fuzz asks for (SanitizerCoverage: 8-bit edge
# counters, the PC table, comparison tracing). No AddressSanitizer: the
# code fuzzed is safe Rust, so what is looked for is a panic (index,
# overflow with debug assertions on, unwrap, slice), an abort, a stack
# overflow, resident memory over the limit or a hang (-timeout).
#
# A target named twice runs in two processes sharing its corpus (as
# libFuzzer's own -jobs do), each with its own log and row; a crash shows
# in the rows of both (they share the crash directory).
#
# Each target runs SECONDS over its committed seeds and regressions
# (fuzz/corpus/<target>, fuzz/regressions/<target>) and the corpus it grew
# on earlier runs (build/fuzz/corpus/<target>, kept between runs). A crash
# leaves its input in build/fuzz/crashes/<target>/ and fails the run: fix
# it, then copy the input to fuzz/regressions/<target>/ so `cargo test`
# replays it. Figures go to build/fuzz/runs.tsv, a line per target and run.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(ls fuzz/corpus)
fi
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "no target $t (see fuzz/corpus/)" >&2; exit 2; }
done

triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares"
# --target keeps the flags off build scripts and proc macros.
cargo build --profile fuzz --target "$triple" --target-dir target/fuzz \
  -p firstpaint-fuzz --features libfuzzer --bin firstpaint-fuzz
bin=target/fuzz/$triple/fuzz/firstpaint-fuzz

mkdir -p build/fuzz
runs=build/fuzz/runs.tsv
[ -f "$runs" ] || printf 'date\tcommit\ttarget\tseconds\texecutions\texec_per_s\tcorpus\tcrashes\n' > "$runs"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- fuzz crates edge 2>/dev/null)" ] || commit="$commit+changes"

# Run $2 of target $1 for $secs: its figures go to build/fuzz/<run>.row,
# and a crash or a non-zero exit to build/fuzz/<run>.failed. A target's
# first run is named after it, a second one <target>.2, and so on.
fuzz_one() {
  local t=$1 run=$2 work=build/fuzz/corpus/$1 crashes=build/fuzz/crashes/$1
  local log=build/fuzz/$2.log stamp=build/fuzz/$2.started status=0
  mkdir -p "$work" "$crashes" "fuzz/regressions/$t"
  rm -f "build/fuzz/$run.failed" "build/fuzz/$run.row"
  touch "$stamp"
  FIRSTPAINT_FUZZ_TARGET=$t "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" \
    "$work" "fuzz/corpus/$t" "fuzz/regressions/$t" > "$log" 2>&1 || status=$?
  local execs found corpus
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  # libFuzzer also writes `slow-unit-*` files: an input that took over 10 s
  # of wall time yet was not stopped by -timeout=10, which a slow input
  # would have been, so the process stalled, not the input (the one seen
  # replays in 1 ms). Reported with how to replay it, not counted; a real
  # hang ends the run as a `timeout-*` crash.
  found=$(find "$crashes" -type f -newer "$stamp" ! -name 'slow-unit-*' | wc -l)
  find "$crashes" -type f -newer "$stamp" -name 'slow-unit-*' \
    -exec echo "$t: slow unit {} (replay it: FIRSTPAINT_FUZZ_TARGET=$t $bin {})" \; >&2
  corpus=$(find "$work" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$commit" "$t" "$secs" \
    "$execs" "$(( execs / (secs > 0 ? secs : 1) ))" "$corpus" "$found" > "build/fuzz/$run.row"
  if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
    echo "$run (exit $status; log $log; inputs in $crashes)" > "build/fuzz/$run.failed"
  fi
}

# libFuzzer uses one core: FUZZ_JOBS targets run side by side.
jobs=${FUZZ_JOBS:-1}
[ "$jobs" -ge 1 ] || jobs=1
pids=()
runs_named=()
declare -A seen=()
for t in "${targets[@]}"; do
  seen[$t]=$(( ${seen[$t]:-0} + 1 ))
  run=$t
  [ "${seen[$t]}" -eq 1 ] || run="$t.${seen[$t]}"
  runs_named+=("$run")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$t" "$run" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done

printf '%-16s %8s %12s %10s %7s %8s\n' target seconds executions exec/s corpus crashes
failed=()
for run in "${runs_named[@]}"; do
  row=build/fuzz/$run.row
  if [ ! -f "$row" ]; then
    failed+=("$run (the run did not finish; log build/fuzz/$run.log)")
    continue
  fi
  cat "$row" >> "$runs"
  cut -f3- "$row" | awk -F'\t' '{ printf "%-16s %8s %12s %10s %7s %8s\n", $1, $2, $3, $4, $5, $6 }'
  [ -f "build/fuzz/$run.failed" ] && failed+=("$(cat "build/fuzz/$run.failed")")
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'crashed: %s\n' "${failed[@]}" >&2
  exit 1
fi
