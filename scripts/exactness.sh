#!/usr/bin/env bash
# The exactness contract of structural changes: md5 sums of seeded training runs' model files
# and of `simulate`/`grad` outputs on the test split, for QIF (series), LIF (closed form),
# QIF on Dormand-Prince, recurrent LIF, QIF with delays and recurrent QIF on Dormand-Prince.
# Run it with the program built before and after a change; the lines must be equal.
# (Since baafb80 a model file records a Dormand-Prince integrator, so the qif-dopri5 lines of
# builds before it differ: their `simulate` and `grad` ran on the series backend.)
# usage: scripts/exactness.sh PATH/TO/evnn OUTDIR
set -euo pipefail
BIN=$1; OUT=$2; rm -rf "$OUT"; mkdir -p "$OUT"

# The first 12 hex digits of a non-empty file's md5. Each is taken into a variable before it
# is printed, so that a missing or empty output stops the script instead of printing a
# (matching) empty field.
h() { test -s "$1" && md5sum < "$1" | cut -c1-12; }
# The same of a run's metrics: every epoch's train loss and accuracies, the best epoch and the
# test accuracy (timings left out), which a run whose best model is its initial one still checks.
metrics() {
  python3 - "$1" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
e = [[x["train_loss"], x["train_acc"], x["val_acc"]] for x in m["epochs"]]
print(hashlib.md5(json.dumps([e, m["best_epoch"], m["test_acc"]]).encode()).hexdigest()[:12])
PY
}

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
  a=$(h "$OUT/$m/model.json"); b=$(h "$OUT/$m.sim.json"); c=$(h "$OUT/$m.grad.json")
  echo "$m model $a simulate $b grad $c"
done
# The model file records Dormand-Prince, so `simulate` and `grad` run on it.
"$BIN" train --model qif --integrator dopri5 --epochs 1 --train-size 300 --no-plots --out "$OUT/qd" --threads 2 > /dev/null 2>&1
"$BIN" simulate --model "$OUT/qd/model.json" --input "$OUT/in200.json" > "$OUT/qd.sim.json"
"$BIN" grad --model "$OUT/qd/model.json" --input "$OUT/in200.json" > "$OUT/qd.grad.json"
a=$(h "$OUT/qd/model.json"); b=$(h "$OUT/qd.sim.json"); c=$(h "$OUT/qd.grad.json")
echo "qif-dopri5 model $a simulate $b grad $c"
# One epoch of 300 samples is two optimiser steps: a longer Dormand-Prince training run, whose
# every step reads the generic path's gradient.
"$BIN" train --model qif --integrator dopri5 --epochs 3 --train-size 1000 --no-plots --out "$OUT/qd3" --threads 2 > /dev/null 2>&1
a=$(h "$OUT/qd3/model.json")
echo "qif-dopri5 3 epochs model $a"
# Recurrent and delayed networks (LIF recurrent in closed form, QIF with both delays by series,
# QIF recurrent on Dormand-Prince, whose look-ahead copies logging steppers).
for spec in "lif-recurrent:--model lif --recurrent" "qif-delays:--model qif --delays both" \
            "qif-dopri5-recurrent:--model qif --integrator dopri5 --recurrent"; do
  name=${spec%%:*}; args=${spec#*:}
  # shellcheck disable=SC2086 # $args is a list of options
  "$BIN" train $args --epochs 3 --train-size 1000 --no-plots --out "$OUT/$name" --threads 2 > /dev/null 2>&1
  "$BIN" simulate --model "$OUT/$name/model.json" --input "$OUT/in200.json" > "$OUT/$name.sim.json"
  "$BIN" grad --model "$OUT/$name/model.json" --input "$OUT/in200.json" > "$OUT/$name.grad.json"
  a=$(h "$OUT/$name/model.json"); m=$(metrics "$OUT/$name/metrics.json")
  b=$(h "$OUT/$name.sim.json"); c=$(h "$OUT/$name.grad.json")
  echo "$name model $a metrics $m simulate $b grad $c"
done
