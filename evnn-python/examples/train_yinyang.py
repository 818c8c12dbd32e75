"""Train a QIF network on Yin–Yang from Python: exact EventProp gradients
from evnn, Adam written in numpy, and a decision map drawn with matplotlib
when it is installed.

    pip install ./evnn-python          # once, from the repository root
    python evnn-python/examples/train_yinyang.py [--epochs 30] [--plot decision.png]

The same experiment in one call, with the program's own loop and results
bit for bit those of `evnn train`, is `evnn.train(epochs=30)`.
"""

import argparse
import time

import numpy as np

import evnn


class Adam:
    """Adam (Kingma & Ba) on a list of dicts of arrays, as optax does it."""

    def __init__(self, params, lr=0.05, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [{k: np.zeros_like(v) for k, v in layer.items()} for layer in params]
        self.v = [{k: np.zeros_like(v) for k, v in layer.items()} for layer in params]

    def step(self, params, grads):
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            for k in p:
                m[k] = self.b1 * m[k] + (1 - self.b1) * g[k]
                v[k] = self.b2 * v[k] + (1 - self.b2) * g[k] ** 2
                m_hat = m[k] / (1 - self.b1**self.t)
                v_hat = v[k] / (1 - self.b2**self.t)
                p[k] = p[k] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return params


def decision_map(net, x, y, path):
    """The test set coloured by predicted class, errors crossed; skipped
    without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no decision map")
        return
    pred = net.predict(x)
    # The first two channels spike at t_max·x and t_max·y.
    xy = x[:, :2] / net.t_max
    fig, ax = plt.subplots(figsize=(5, 5))
    for c, colour in enumerate(["tab:blue", "tab:orange", "tab:green"]):
        sel = pred == c
        ax.scatter(xy[sel, 0], xy[sel, 1], s=8, color=colour, label=f"class {c}")
    wrong = pred != y
    ax.scatter(xy[wrong, 0], xy[wrong, 1], s=30, marker="x", color="black", label="error")
    ax.set_aspect("equal")
    ax.set_title(f"test accuracy {np.mean(~wrong):.1%}")
    ax.legend(loc="upper right", fontsize=7)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"decision map: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default="decision.png")
    args = ap.parse_args()

    x_train, y_train = evnn.yin_yang("train")
    x_val, y_val = evnn.yin_yang("validation")
    x_test, y_test = evnn.yin_yang("test")
    net = evnn.Network("qif", [5, 20, 3], seed=args.seed)
    params = net.params
    adam = Adam(params, lr=args.lr)
    rng = np.random.default_rng(args.seed)
    best = (net.accuracy(x_val, y_val), 0, net.copy())
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = rng.permutation(len(y_train))
        losses = []
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            loss, grads = net.loss_and_grad(x_train[batch], y_train[batch])
            params = adam.step(params, grads)
            net.set_params(params)
            losses.append(loss * len(batch))
        val = net.accuracy(x_val, y_val)
        if val > best[0]:
            best = (val, epoch, net.copy())
        print(
            f"epoch {epoch:3d}  train loss {sum(losses) / len(order):.4f}  "
            f"val acc {val:.2%}  {time.perf_counter() - t0:.2f} s"
        )
    val, epoch, net = best
    print(f"best validation accuracy {val:.2%} (epoch {epoch}), test accuracy {net.accuracy(x_test, y_test):.2%}")
    decision_map(net, x_test, y_test, args.plot)


if __name__ == "__main__":
    main()
