#!/bin/bash
# Issue 33: the zoo's move-head chess model and its feed-forward twin, end to end on a 2-core CPU.
#   data   dt's 15,839 bundled puzzles + 24,000 self-play puzzles (seed 33, Stockfish depth 8,
#          ~15 a second on two workers), one Lichess-layout CSV in $DIR
#   train  ARCH=dt-recall (the recurrent net) or ARCH=ff-recall (its twin at equal depth):
#          width 64, 12 iterations, legal-move head, whole solution lines, file mirroring,
#          28,000 training positions (10% of them for validation) of puzzles rated below 1000, 12 epochs
#   dev    the real Lichess development set (all, and ratings >= 1577) at 1/4/12/40 iterations,
#          with dt test's random-legal and one-ply baselines on the same puzzles
#   mates  N forced-mate puzzles (dt data generate chess -o generator=mates, seed 33: python-chess,
#          ~20 a second on one core, two thirds mates in one) appended to the same CSV
#   human  N human-like puzzles (dt data generate chess -o generator=openings: real ECO openings,
#          Lichess-style lines; ~1,400 an hour on one core) appended to the same CSV
# Every step resumes: re-run the script after a stop. One niced thread per training.
# Usage: benchmarks/chess_zoo.sh data DIR | mates DIR N | human DIR N | train DIR ARCH [COUNT [EPOCHS]]
#        | dev DIR ARCH [CSV]   (COUNT: training positions, default 28000; EPOCHS default 12; THREADS=N for torch)
set -euo pipefail
cd "$(dirname "$0")/.."; [ -f .venv/bin/activate ] && . .venv/bin/activate
export OMP_NUM_THREADS=1
STEP=${1:?usage: chess_zoo.sh data|human|train|dev DIR ...}; D=${2:?DIR}
CSV="$D/puzzles.csv"; WANT=24000
bundled() {  # the CSV starts as dt's bundled puzzles
  mkdir -p "$D"
  if [ ! -s "$CSV" ]; then
    python - "$CSV" <<'PY'
import gzip, shutil, sys
from dt_chess.store import bundled_path
with gzip.open(bundled_path(), "rb") as src, open(sys.argv[1] + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
shutil.move(sys.argv[1] + ".tmp", sys.argv[1])
PY
  fi
}
case $STEP in
data)
  bundled
  have=$(grep -c '^dt-sf-33-' "$CSV" || true)
  if [ "$have" -lt "$WANT" ]; then
    nice -n 19 dt data generate chess --seed 33 -o generator=stockfish -o workers=2 \
      -o engine_depth=8 --count $((WANT - have)) --out "$CSV"
  fi
  echo "puzzles: $(($(wc -l < "$CSV") - 1))" ;;
mates)
  N=${3:?N}; bundled
  have=$(grep -c '^dt-mate-33-' "$CSV" || true)
  if [ "$have" -lt "$N" ]; then
    nice -n 19 dt data generate chess --seed 33 -o generator=mates -o workers=2 \
      --count $((N - have)) --out "$CSV"
  fi
  echo "puzzles: $(($(wc -l < "$CSV") - 1)) ($(grep -c '^dt-mate-33-' "$CSV") forced mates)" ;;
human)
  N=${3:?N}; bundled
  have=$(grep -c '^dt-op-' "$CSV" || true)
  if [ "$have" -lt "$N" ]; then
    nice -n 19 dt data generate chess -o generator=openings -o workers=1 -o engine_depth=8 \
      --count $((N - have)) --out "$CSV"
  fi
  echo "puzzles: $(($(wc -l < "$CSV") - 1)) ($(grep -c '^dt-op-' "$CSV") human-like)" ;;
train)
  ARCH=${3:?ARCH}; M="$D/$ARCH"
  [ -f "$M/extrapolation.json" ] && exit 0
  RES=(); [ -f "$M/last.pt" ] && RES=(--resume "$M")
  nice -n 19 dt train chess --arch "$ARCH" --preset quick -o source="$CSV" -o target=move \
    -o line=all -o mirror=true --train-difficulty 0-999 --test-difficulty 1000- --width 64 --max-iters 12 --train-count "${4:-28000}" --val-fraction 0.1 --epochs "${5:-12}" \
    --test-count 2000 --test-iters 40 --seed 0 --threads "${THREADS:-1}" --out "$M" "${RES[@]}" ;;
dev)
  ARCH=${3:?ARCH}; M="$D/$ARCH"; DEV=${4:-../shared/lichess_dev.csv}
  ITERS=1,4,12,40; [[ $ARCH == ff* ]] && ITERS=1,4,12  # a feed-forward net stops at its depth
  for band in 0-3000 1577-; do
    nice -n 19 dt test "$M" -o source="$DEV" -d "$band" -n 2000 -i $ITERS --threads 1 \
      --json > "$M/dev-$band.json.tmp" && mv "$M/dev-$band.json.tmp" "$M/dev-$band.json"
  done ;;
*) echo "unknown step $STEP" >&2; exit 2 ;;
esac
