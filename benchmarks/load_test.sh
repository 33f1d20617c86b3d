#!/usr/bin/env bash
# Load test: do the fault, interrupt and end-to-end tests hold on a machine with no idle core?
#
# Runs tests/test_faults.py tests/test_interrupts.py tests/test_sweep_e2e.py ROUNDS times in a row
# (default 5) while BUSY busy-loop processes (default 2: both cores of the reference machine) keep
# every core busy. The busy loops are killed at the end whatever happens (trap on EXIT, Ctrl-C too).
# Prints pass/fail counts per round (failed test ids under them) and one final line; exits 1 if any
# round had a failure. Each round's full pytest log is kept in LOGDIR (printed at the start).
#
# Usage, from anywhere:  benchmarks/load_test.sh [ROUNDS] [BUSY]
# Extra pytest arguments:  PYTEST_ARGS="-k sigkill" benchmarks/load_test.sh 3
# It uses a private cache (ARCHBENCH_CACHE, a fresh temporary directory unless set) and this
# checkout's code (PYTHONPATH), never ~/.cache/archbench.
set -u

rounds=${1:-5}
busy_n=${2:-2}
cd "$(dirname "$0")/.." || exit 2
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export ARCHBENCH_CACHE=${ARCHBENCH_CACHE:-$(mktemp -d "${TMPDIR:-/tmp}/archbench-load-cache-XXXXXX")}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/archbench-load-logs-XXXXXX")
tests=(tests/test_faults.py tests/test_interrupts.py tests/test_sweep_e2e.py)

busy_pids=()
stop_busy() {
    for pid in "${busy_pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    for pid in "${busy_pids[@]}"; do wait "$pid" 2>/dev/null; done
    busy_pids=()
}
trap stop_busy EXIT
trap 'echo "load test: interrupted"; exit 130' INT TERM

for _ in $(seq "$busy_n"); do
    python -c 'while True: pass' &
    busy_pids+=("$!")
done
echo "load test: $rounds rounds of ${tests[*]} with $busy_n busy loops on $(nproc) cores; logs in $logdir"

total_passed=0 total_failed=0 bad_rounds=0 start_all=$(date +%s)
for round in $(seq "$rounds"); do
    log="$logdir/round-$round.log"
    start=$(date +%s)
    # shellcheck disable=SC2086  # PYTEST_ARGS is meant to split into words
    # -n 0: one test at a time (the suite's default is two workers): the busy loops are the only other load.
    python -m pytest "${tests[@]}" -n 0 -p no:cacheprovider -rfE ${PYTEST_ARGS:-} >"$log" 2>&1
    code=$?
    summary=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -1)
    passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || true)
    passed=${passed:-0} failed=0
    for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" | grep -oE '^[0-9]+'); do failed=$((failed + n)); done
    if [ "$code" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # pytest itself broke (collection, crash)
    total_passed=$((total_passed + passed)) total_failed=$((total_failed + failed))
    [ "$failed" -gt 0 ] && bad_rounds=$((bad_rounds + 1))
    echo "round $round/$rounds: $passed passed, $failed failed ($(($(date +%s) - start)) s, pytest exit $code)"
    grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /'
done
echo "load test: $rounds rounds, $total_passed passed, $total_failed failed, $bad_rounds/$rounds rounds with a failure" \
     "($(($(date +%s) - start_all)) s, $busy_n busy loops)"
[ "$bad_rounds" -eq 0 ]
