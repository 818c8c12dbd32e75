"""Throughput of the Python binding against the `evnn` program, in one run
on the same machine: QIF 5-20-3 at the initial parameters (seed 0), the
5000 training samples of Yin–Yang, all cores.

    python evnn-python/benches/throughput.py --evnn target/release/evnn [--repeats 7]

Measured, alternating between Python and the program, medians of the
repeats:
- loss_and_grad: `Network.loss_and_grad` on the 5000 samples in one call,
  against the whole `evnn grad` process on the same model and input file
  (which adds start-up and JSON reading and writing to the same library
  call);
- loss pass: `Network.loss` on the 5000 samples, against the loss pass that
  `evnn bench` times in-process (forward_samples_per_s, all threads);
- training epoch: batches of 256 (`loss_and_grad`, a numpy Adam step,
  `set_params`), against `evnn bench`'s epoch (train_samples_per_s).
Ratios are Python's time over the program's (above 1: Python is slower).
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

import evnn


def adam_epoch(net, x, y, batch=256, lr=0.05):
    """One epoch of batches with a numpy Adam step (the example's loop)."""
    params = net.params
    m = [{k: np.zeros_like(v) for k, v in l.items()} for l in params]
    v = [{k: np.zeros_like(v) for k, v in l.items()} for l in params]
    for t, start in enumerate(range(0, len(y), batch), 1):
        _, grads = net.loss_and_grad(x[start : start + batch], y[start : start + batch])
        for p, g, mm, vv in zip(params, grads, m, v):
            for k in p:
                mm[k] = 0.9 * mm[k] + 0.1 * g[k]
                vv[k] = 0.999 * vv[k] + 0.001 * g[k] ** 2
                p[k] = p[k] - lr * (mm[k] / (1 - 0.9**t)) / (np.sqrt(vv[k] / (1 - 0.999**t)) + 1e-8)
        net.set_params(params)


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evnn", required=True, help="the evnn program (a release build)")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    x, y = evnn.yin_yang("train")
    net = evnn.Network("qif", [5, 20, 3], seed=0)
    tmp = pathlib.Path(tempfile.mkdtemp())
    model, inputs = tmp / "model.json", tmp / "inputs.json"
    net.save(model)
    inputs.write_text(json.dumps({"inputs": x.tolist(), "labels": y.tolist()}))
    grad = [args.evnn, "grad", "--model", str(model), "--input", str(inputs)]

    # Untimed first passes (pool threads, buffers, page cache).
    net.loss_and_grad(x, y)
    subprocess.run(grad, check=True, stdout=subprocess.DEVNULL)
    py_grad, prog_grad, py_loss, py_epoch = [], [], [], []
    for _ in range(args.repeats):
        py_grad.append(timed(lambda: net.loss_and_grad(x, y)))
        prog_grad.append(timed(lambda: subprocess.run(grad, check=True, stdout=subprocess.DEVNULL)))
        py_loss.append(timed(lambda: net.loss(x, y)))
        py_epoch.append(timed(lambda: adam_epoch(net.copy(), x, y)))
    bench = json.loads(
        subprocess.run(
            [args.evnn, "bench", "--samples", "5000", "--repeats", str(args.repeats)],
            check=True,
            stdout=subprocess.PIPE,
        ).stdout
    )
    all_threads = bench["runs"][-1]
    med = statistics.median
    n = len(y)
    out = {
        "samples": n,
        "repeats": args.repeats,
        "threads": all_threads["threads"],
        "loss_and_grad_s": {"python": med(py_grad), "evnn_grad_process": med(prog_grad)},
        "loss_pass_s": {"python": med(py_loss), "evnn_bench": n / all_threads["forward_samples_per_s"]},
        "epoch_s": {"python_numpy_adam": med(py_epoch), "evnn_bench": n / all_threads["train_samples_per_s"]},
    }
    out["ratios_python_over_program"] = {
        k: out[k][next(iter(out[k]))] / out[k][list(out[k])[1]] for k in ["loss_and_grad_s", "loss_pass_s", "epoch_s"]
    }
    out["each"] = {"python_loss_and_grad": py_grad, "evnn_grad_process": prog_grad}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
