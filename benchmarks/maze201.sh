#!/bin/bash
# issue 30 acceptance 1: mazes-dt-recall-w48 on 50 fresh 201x201 mazes, halting (K=200), up to
# 10,000 iterations; resumable state (re-run this script to continue)
cd "$(dirname "$0")/.."; [ -f .venv/bin/activate ] && . .venv/bin/activate; export OMP_NUM_THREADS=1
R=benchmarks/results/maze201; mkdir -p $R
RES=""; [ -f $R/state/test.json ] && RES="--resume"
nice -n 19 dt test mazes-dt-recall-w48 -d 201 -n 50 --seed 201 --mode halt -k 200 -i 10000 \
  --threads 1 --state $R/state --state-every 5 $RES --json > $R/w48-201.json.tmp \
  && mv $R/w48-201.json.tmp $R/w48-201.json
