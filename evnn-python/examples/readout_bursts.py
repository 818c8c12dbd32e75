"""Train a spiking layer and a leaky-integrator readout on it from Python:
exact gradients through the readout's largest voltage and every spike of
the layer (evnn), Adam written in numpy (from train_yinyang.py).

The task, generated here: three input channels, one of which fires three
spikes while the others fire two, at random times; the class is the
channel with three. The class lies in how many spikes arrive, not when
the first one does: the readout sums the layer's spikes over time.

    pip install ./evnn-python          # once, from the repository root
    python evnn-python/examples/readout_bursts.py [--epochs 20]
"""

import argparse
import time

import numpy as np
from train_yinyang import Adam

import evnn


def bursts(n, rng, n_channels=3):
    """n samples: per channel a sorted array of spike times in [1, 20) ms,
    three for the label's channel, two for the others; and the labels."""
    labels = rng.integers(0, n_channels, n)
    inputs = [
        [np.sort(rng.uniform(1.0, 20.0, 3 if c == label else 2)) for c in range(n_channels)]
        for label in labels
    ]
    return inputs, labels


def accuracy(net, w, x, y, **readout):
    """The share of samples whose largest readout score is the label's."""
    return float(np.mean(np.argmax(net.readout_scores(x, w, **readout), axis=1) == y))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    x_train, y_train = bursts(512, rng)
    x_test, y_test = bursts(256, rng)
    net = evnn.Network("lif", [3, args.hidden], seed=args.seed, t_max=40.0)
    # A positive mean, so that every readout neuron's voltage rises above
    # rest from the start (a readout neuron that never does gets no gradient).
    w = rng.normal(0.5, 1.0, (3, args.hidden)) * 4.0 / np.sqrt(args.hidden)
    readout = {"tau_mem": 20.0, "tau_syn": 5.0}
    params = net.params + [{"readout": w}]
    adam = Adam(params, lr=0.02)
    print(f"epoch   0  test accuracy {100 * accuracy(net, w, x_test, y_test, **readout):.1f}%")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(y_train))
        losses = []
        for b in range(0, len(order), 32):
            batch = order[b : b + 32]
            xb = [x_train[i] for i in batch]
            loss, grads, w_grad = net.readout_loss_and_grad(xb, y_train[batch], w, **readout)
            params = adam.step(params, grads + [{"readout": w_grad}])
            net.set_params(params[:-1])
            w = params[-1]["readout"]
            losses.append(loss)
        acc = accuracy(net, w, x_test, y_test, **readout)
        print(f"epoch {epoch:3d}  train loss {np.mean(losses):.4f}  test accuracy {100 * acc:.1f}%")
    print(f"test accuracy {100 * accuracy(net, w, x_test, y_test, **readout):.1f}%, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
