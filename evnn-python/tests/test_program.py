"""The package's numbers equal the `evnn` program's, bit for bit, on the
same model files and inputs (`evnn data`, `eval`, `simulate`, `grad`,
`train`)."""

import json

import numpy as np
import pytest

import evnn
from conftest import SHORT_RUN, bits, train_program, write_inputs


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_yin_yang_is_evnn_data(run, split):
    doc = run("data", "--split", split)
    x, y = evnn.yin_yang(split)
    assert x.dtype == np.float64 and y.dtype == np.int64
    assert x.shape == (doc["n"], 5) and y.shape == (doc["n"],)
    assert np.array_equal(bits(x), bits(doc["inputs"]))
    assert np.array_equal(y, doc["labels"])


@pytest.mark.parametrize("model", ["qif_model", "lif_model"])
@pytest.mark.parametrize("split", ["validation", "test"])
def test_accuracy_is_evnn_eval(run, request, model, split):
    path = request.getfixturevalue(model)
    net = evnn.load_model(path)
    x, y = evnn.yin_yang(split)
    doc = run("eval", "--model", path, "--split", split)
    acc = net.accuracy(x, y)
    assert acc == doc["accuracy"], (acc, doc)
    # The accuracy is the share of predictions equal to the label.
    assert acc == np.mean(net.predict(x) == y)
    assert 0.0 < acc < 1.0


@pytest.mark.parametrize("model", ["qif_model", "lif_model"])
def test_simulate_is_evnn_simulate(run, request, tmp_path, test_split, model):
    path = request.getfixturevalue(model)
    net = evnn.load_model(path)
    x, _ = test_split
    doc = run("simulate", "--model", path, "--input", write_inputs(tmp_path / "in.json", x))
    got = net.simulate(x)
    assert len(got) == len(doc["samples"]) == len(x)
    n_spikes = 0
    for sample, expected in zip(got, doc["samples"]):
        assert len(sample) == len(expected) == len(net.sizes) - 1
        for layer, exp_layer in zip(sample, expected):
            assert len(layer) == len(exp_layer)
            for times, exp in zip(layer, exp_layer):
                assert times.dtype == np.float64
                assert np.array_equal(bits(times), bits(exp)), (times, exp)
                n_spikes += len(exp)
    assert n_spikes > 0
    # First spike times: the output layer's first spikes, inf where silent.
    first = net.first_spike_times(x)
    assert first.shape == (len(x), 3)
    for row, sample in zip(first, doc["samples"]):
        expected = [t[0] if t else np.inf for t in sample[-1]]
        assert np.array_equal(bits(row), bits(expected))


@pytest.mark.parametrize("model", ["qif_model", "lif_model"])
def test_loss_and_grad_is_evnn_grad(run, request, tmp_path, test_split, model):
    path = request.getfixturevalue(model)
    net = evnn.load_model(path)
    x, y = test_split
    doc = run("grad", "--model", path, "--input", write_inputs(tmp_path / "in.json", x, y))
    loss, grads = net.loss_and_grad(x, y)
    assert isinstance(loss, float)
    assert bits(loss) == bits(doc["loss"])
    assert net.loss(x, y) == loss
    assert len(grads) == len(doc["gradient"])
    nonzero = 0
    for g, exp, p in zip(grads, doc["gradient"], net.params):
        assert g["weights"].shape == p["weights"].shape == (exp["n_out"], exp["n_in"])
        assert g["biases"].shape == p["biases"].shape == (exp["n_out"],)
        assert np.array_equal(bits(g["weights"].ravel()), bits(exp["weights"]))
        assert np.array_equal(bits(g["biases"]), bits(exp["biases"]))
        nonzero += np.count_nonzero(g["weights"])
    assert nonzero > 0


def test_initialisation_is_evnn_train(evnn_bin, tmp_path):
    """`Network(model, sizes, seed)` holds the parameters `evnn train`
    starts from (its model file after 0 epochs)."""
    cases = [
        ("qif", [5, 20, 3], 0, []),
        ("lif", [5, 8, 6, 3], 7, ["--model", "lif", "--hidden", "8,6"]),
        ("eif", [5, 4, 3], 2, ["--model", "eif", "--hidden", "4", "--constants", '{"delta_t": 0.3}']),
    ]
    for model, sizes, seed, args in cases:
        out = tmp_path / f"{model}-{seed}"
        _, path = train_program(evnn_bin, out, "--epochs", 0, "--seed", seed, "--val-size", 10, "--test-size", 10, *args)
        constants = {"delta_t": 0.3} if model == "eif" else {}
        net = evnn.Network(model, sizes, seed=seed, **constants)
        expected = evnn.load_model(path)
        assert net.sizes == expected.sizes == sizes
        assert net.constants == expected.constants
        for p, e in zip(net.params, expected.params):
            assert np.array_equal(bits(p["weights"]), bits(e["weights"]))
            assert np.array_equal(bits(p["biases"]), bits(e["biases"]))
        # Saved by the package, the file is the program's, byte for byte.
        net.save(out / "again.json")
        assert (out / "again.json").read_text() == path.read_text()


def test_train_is_evnn_train(evnn_bin, tmp_path):
    """`evnn.train` is `evnn train`: the same epochs, accuracies and model,
    bit for bit, and the callback sees every epoch."""
    metrics, path = train_program(evnn_bin, tmp_path, *SHORT_RUN, "--seed", 5, "--lr", 0.02)
    seen = []
    r = evnn.train(epochs=2, train_size=300, val_size=200, test_size=200, seed=5, lr=0.02, callback=seen.append)
    assert r["config"] == metrics["config"]
    assert len(r["epochs"]) == len(metrics["epochs"]) == 2
    for got, exp in zip(r["epochs"], metrics["epochs"]):
        for key in ["epoch", "train_loss", "train_acc", "val_acc"]:
            assert bits(got[key]) == bits(exp[key]), key
    for key in ["best_val_acc", "best_epoch", "test_acc"]:
        assert r[key] == metrics[key], key
    assert [m["epoch"] for m in seen] == [1, 2]
    assert seen == r["epochs"]
    expected = evnn.load_model(path)
    for p, e in zip(r["model"].params, expected.params):
        assert np.array_equal(bits(p["weights"]), bits(e["weights"]))
        assert np.array_equal(bits(p["biases"]), bits(e["biases"]))


def test_train_config_file_fields(evnn_bin, tmp_path):
    """A config file's fields as keywords: the LIF run with decay and the
    silent-neuron terms, as `evnn train --config FILE`."""
    config = {
        "model": "lif",
        "hidden": [10],
        "lr": 0.01,
        "lr_decay": 0.9,
        "silent_label_push": 0.5,
        "silent_hidden_push": 0.5,
        "epochs": 2,
        "train_size": 200,
        "val_size": 100,
        "test_size": 100,
        "seed": 4,
        "threads": 1,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    metrics, path = train_program(evnn_bin, tmp_path / "run", "--config", tmp_path / "config.json")
    r = evnn.train(**config)
    assert r["config"] == metrics["config"]
    assert [m["train_loss"] for m in r["epochs"]] == [m["train_loss"] for m in metrics["epochs"]]
    assert r["test_acc"] == metrics["test_acc"]
    expected = evnn.load_model(path)
    assert all(np.array_equal(p["weights"], e["weights"]) for p, e in zip(r["model"].params, expected.params))
