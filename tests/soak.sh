#!/usr/bin/env bash
# Soak: the kill -9 and resume tests of tests/durability.rs, large and in
# release. Each trial kills the import at chosen and random moments (during
# the first file, right after a resume, during the largest file, after random
# delays), resumes it, and compares the database with an uninterrupted run.
#
# Usage: tests/soak.sh [ROWS] [TRIALS]
#   ROWS    rows generated over 6 files   (default 300000, or $DROPSHIP_SOAK_ROWS)
#   TRIALS  trials per kill test          (default 20, or $DROPSHIP_SOAK_TRIALS)
#   DROPSHIP_SOAK_SEED=N repeats the random kill moments of an earlier soak.
#   DROPSHIP_SOAK_COMMIT_INTERVAL=250ms kills inside the default's longer
#   transactions instead of committing every chunk (default 0s).
set -euo pipefail
cd "$(dirname "$0")/.."

rows="${1:-${DROPSHIP_SOAK_ROWS:-300000}}"
trials="${2:-${DROPSHIP_SOAK_TRIALS:-20}}"
export DROPSHIP_SOAK_ROWS="$rows" DROPSHIP_SOAK_TRIALS="$trials"

echo "soak: $trials kill/resume trials for each of -j 1 and -j 3, $rows rows in 6 files, release build"
echo "soak: cargo test --release --test durability kill -- --nocapture"
SECONDS=0
status=0
cargo test --release --test durability kill -- --nocapture || status=$?
if [ "$status" -eq 0 ]; then
  echo "soak: PASSED: $trials trials x 2 tests, $rows rows, ${SECONDS} s"
else
  echo "soak: FAILED (exit $status) after ${SECONDS} s: $trials trials x 2 tests, $rows rows" >&2
fi
exit "$status"
