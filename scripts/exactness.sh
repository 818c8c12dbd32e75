#!/usr/bin/env bash
# The exactness contract of structural changes: md5 sums of seeded training runs' model files
# and of `simulate`/`grad` outputs on the test split, for QIF (series), LIF (closed form)
# and QIF on Dormand-Prince. Run it with the program built before and
# after a change; the lines must be equal.
# usage: scripts/exactness.sh PATH/TO/evnn OUTDIR
set -euo pipefail
BIN=$1; OUT=$2; rm -rf "$OUT"; mkdir -p "$OUT"
"$BIN" data --split test > "$OUT/test.json"
python3 - "$OUT" <<'PY'
import json,sys
o=sys.argv[1]; d=json.load(open(o+'/test.json'))
json.dump({"inputs": d["inputs"], "labels": d["labels"]}, open(o+'/in1000.json','w'))
json.dump({"inputs": d["inputs"][:200], "labels": d["labels"][:200]}, open(o+'/in200.json','w'))
PY
for m in qif lif; do
  "$BIN" train --model $m --epochs 3 --train-size 1000 --no-plots --out "$OUT/$m" --threads 2 > /dev/null 2>&1
  "$BIN" simulate --model "$OUT/$m/model.json" --input "$OUT/in1000.json" > "$OUT/$m.sim.json"
  "$BIN" grad --model "$OUT/$m/model.json" --input "$OUT/in200.json" > "$OUT/$m.grad.json"
  echo "$m model $(md5sum < "$OUT/$m/model.json" | cut -c1-12) simulate $(md5sum < "$OUT/$m.sim.json" | cut -c1-12) grad $(md5sum < "$OUT/$m.grad.json" | cut -c1-12)"
done
"$BIN" train --model qif --integrator dopri5 --epochs 1 --train-size 300 --no-plots --out "$OUT/qd" --threads 2 > /dev/null 2>&1
"$BIN" simulate --model "$OUT/qd/model.json" --input "$OUT/in200.json" > "$OUT/qd.sim.json"
"$BIN" grad --model "$OUT/qd/model.json" --input "$OUT/in200.json" > "$OUT/qd.grad.json"
echo "qif-dopri5 model $(md5sum < "$OUT/qd/model.json" | cut -c1-12) simulate $(md5sum < "$OUT/qd.sim.json" | cut -c1-12) grad $(md5sum < "$OUT/qd.grad.json" | cut -c1-12)"
# The model file records Dormand-Prince, so `simulate` and `grad` above run on it. One epoch of
# 300 samples is two optimiser steps: a longer Dormand-Prince training run, whose every step
# reads the generic path's gradient.
"$BIN" train --model qif --integrator dopri5 --epochs 3 --train-size 1000 --no-plots --out "$OUT/qd3" --threads 2 > /dev/null 2>&1
echo "qif-dopri5 3 epochs model $(md5sum < "$OUT/qd3/model.json" | cut -c1-12)"
