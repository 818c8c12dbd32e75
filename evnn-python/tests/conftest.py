"""Fixtures: the `evnn` program (to compare numbers with), and model files
it wrote."""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import evnn

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def evnn_bin():
    """The `evnn` program: $EVNN_BIN, else built here by cargo (debug; its
    numbers are those of a release build, bit for bit)."""
    path = os.environ.get("EVNN_BIN")
    if path:
        return path
    out = subprocess.run(
        ["cargo", "build", "-p", "evnn-examples", "--bin", "evnn", "--message-format=json"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    for line in out.decode().splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "evnn" and msg.get("executable"):
            return msg["executable"]
    raise RuntimeError("cargo built no `evnn` executable")


@pytest.fixture(scope="session")
def run(evnn_bin):
    """run(*args) -> parsed JSON of the program's standard output."""

    def run(*args):
        out = subprocess.run([evnn_bin, *map(str, args)], check=True, stdout=subprocess.PIPE).stdout
        return json.loads(out)

    return run


def train_program(evnn_bin, out, *args):
    """`evnn train ... --out OUT --no-plots`; returns (metrics, model path)."""
    subprocess.run(
        [evnn_bin, "train", "--out", str(out), "--no-plots", *map(str, args)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return json.loads((out / "metrics.json").read_text()), out / "model.json"


SHORT_RUN = ["--epochs", 2, "--train-size", 300, "--val-size", 200, "--test-size", 200]


@pytest.fixture(scope="session")
def qif_model(evnn_bin, tmp_path_factory):
    """A QIF 5-20-3 model trained by the program for two short epochs."""
    _, path = train_program(evnn_bin, tmp_path_factory.mktemp("qif"), *SHORT_RUN, "--seed", 3)
    return path


@pytest.fixture(scope="session")
def lif_model(evnn_bin, tmp_path_factory):
    """A LIF 5-8-6-3 model trained by the program for two short epochs."""
    _, path = train_program(
        evnn_bin, tmp_path_factory.mktemp("lif"), *SHORT_RUN, "--model", "lif", "--hidden", "8,6", "--seed", 1
    )
    return path


@pytest.fixture(scope="session")
def test_split():
    """The first 40 samples of the test split."""
    x, y = evnn.yin_yang("test")
    return x[:40], y[:40]


def write_inputs(path, x, y=None):
    """An input file of `evnn simulate` / `evnn grad`."""
    doc = {"inputs": np.asarray(x).tolist()}
    if y is not None:
        doc["labels"] = np.asarray(y).tolist()
    path.write_text(json.dumps(doc))
    return path


def bits(a):
    """An array's float64 values as integers: equal bit for bit or not."""
    return np.asarray(a, dtype=np.float64).view(np.int64)


def central_differences(net, h, loss):
    """d loss / d(every parameter) of `net` by central differences,
    (loss(p + h) - loss(p - h)) / 2h, in the layout of net.params; `loss`
    takes a network (a copy of `net` with one parameter moved)."""
    base = net.params
    probe = net.copy()
    out = []
    for k, layer in enumerate(base):
        fd = {}
        for name, values in layer.items():
            d = np.zeros_like(values)
            for idx in np.ndindex(values.shape):
                losses = []
                for sign in (1.0, -1.0):
                    p = [{n: v.copy() for n, v in l.items()} for l in base]
                    p[k][name][idx] += sign * h
                    probe.set_params(p)
                    losses.append(loss(probe))
                d[idx] = (losses[0] - losses[1]) / (2 * h)
            fd[name] = d
        out.append(fd)
    return out
