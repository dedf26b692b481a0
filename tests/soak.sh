#!/usr/bin/env bash
# Soak: the kill -9 and resume tests and the careless-operator tests of
# tests/durability.rs, large and in release.
#
# - kill_9_*: each trial kills the import at chosen and random moments
#   (during the first file, right after a resume, during the largest file,
#   after random delays), resumes it, and compares the database with an
#   uninterrupted run: -j 1 and -j 3 (orders shared between files), gzip /
#   BOM / CRLF / multi-line records at the default commit interval, and
#   --on-duplicate update.
# - soak_*: while a run writes, a second run on the same database, one after
#   deleting <db>.lock, one through a hard-linked name of the database (each
#   must be refused with exit 1), and files that fail (--max-errors) while
#   sharing orders with good ones under -j 4; in both duplicate modes, some
#   trials also killing the first run. Every trial ends equal to a clean run.
# - runs_sharing_*: with PostgreSQL (DROPSHIP_TEST_PG), two to four runs
#   over one folder and one schema at once, some killed at random moments,
#   then run again until every file is in; each trial ends equal to a clean
#   run, every committed row counted once. Rows are spread over 8 files.
#   Then, TRIALS times each: a run frozen past its lease, a run cut off by a
#   TCP relay, and runs on two hosts (network namespaces, as root) with one
#   unplugged: each loses its file to the next run, nothing doubled.
#
# Usage: tests/soak.sh [ROWS] [TRIALS]
#   ROWS    rows generated over 6 files   (default 300000, or $DROPSHIP_SOAK_ROWS)
#   TRIALS  trials per test               (default 20, or $DROPSHIP_SOAK_TRIALS)
#   DROPSHIP_SOAK_SEED=N repeats the random moments of an earlier soak.
#   DROPSHIP_SOAK_COMMIT_INTERVAL=250ms kills inside the default's longer
#   transactions instead of committing every chunk (default 0s).
set -euo pipefail
cd "$(dirname "$0")/.."

rows="${1:-${DROPSHIP_SOAK_ROWS:-300000}}"
trials="${2:-${DROPSHIP_SOAK_TRIALS:-20}}"
export DROPSHIP_SOAK_ROWS="$rows" DROPSHIP_SOAK_TRIALS="$trials"

echo "soak: $trials trials per test, $rows rows in 6 files, release build"
SECONDS=0
failed=()
for group in kill_9 soak_; do
  echo "soak: cargo test --release --test durability $group -- --nocapture"
  if ! cargo test --release --test durability "$group" -- --nocapture; then
    failed+=("$group")
  fi
done
if [ -n "${DROPSHIP_TEST_PG:-}" ]; then
  echo "soak: cargo test --release --test postgres runs_sharing -- --nocapture"
  if ! cargo test --release --test postgres runs_sharing -- --nocapture; then
    failed+=(runs_sharing)
  fi
  echo "soak: $trials x cargo test --release --test postgres (paused, cut off, unplugged)"
  for _ in $(seq "$trials"); do
    if ! cargo test -q --release --test postgres -- a_run_paused a_run_cut_off runs_on_two_hosts; then
      failed+=(lost_claims)
      break
    fi
  done
else
  echo "soak: runs_sharing skipped: set DROPSHIP_TEST_PG=postgres://USER@HOST:PORT/DB"
fi
if [ "${#failed[@]}" -eq 0 ]; then
  echo "soak: PASSED: $trials trials per test, $rows rows, ${SECONDS} s"
  exit 0
fi
echo "soak: FAILED (${failed[*]}) after ${SECONDS} s: $trials trials per test, $rows rows" >&2
exit 1
