#!/bin/bash
# issue 30 acceptance 1 and 3: mazes-dt-recall-w48 on 50 fresh 201x201 mazes (seed 201), up to
# 10,000 iterations, halting
#   check  K=200 or a checked answer (--halt-on-check: the path is valid, no label used): the
#          card's row, and the "after" of the cost table
#   k200   K=200 alone, the rule before --halt-on-check: the "before" of the cost table
# one niced thread; each run keeps a resumable state: re-run this script to continue
cd "$(dirname "$0")/.."; [ -f .venv/bin/activate ] && . .venv/bin/activate; export OMP_NUM_THREADS=1
R=benchmarks/results/maze201; mkdir -p $R
run() {  # NAME STATE-DIR EXTRA-FLAGS...
  local name=$1 state=$2; shift 2
  [ -f $R/w48-201-$name.json ] && return 0
  local res=""; [ -f $state/test.json ] && res="--resume"
  nice -n 19 dt test mazes-dt-recall-w48 -d 201 -n 50 --seed 201 --mode halt -k 200 -i 10000 \
    --threads 1 --state $state --state-every 5 $res "$@" --json > $R/w48-201-$name.json.tmp \
    && mv $R/w48-201-$name.json.tmp $R/w48-201-$name.json
}
run check $R/state-check --halt-on-check && run k200 $R/state
