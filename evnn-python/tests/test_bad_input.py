"""Bad input raises ValueError with a message that names the bad value;
nothing crashes the interpreter."""

import numpy as np
import pytest

import evnn


@pytest.fixture(scope="module")
def net():
    return evnn.Network("qif", [5, 6, 3], seed=0)


@pytest.fixture(scope="module")
def data():
    return evnn.yin_yang("test", size=8)


def bad_inputs(x):
    nan = x.copy()
    nan[3, 1] = np.nan
    neg = x.copy()
    neg[0, 0] = -1.0
    return [
        (x[0], "2-D"),  # one sample as 1-D
        (x[None], "2-D"),  # 3-D
        (x[:, :4], "expected 5, got 4"),  # channels
        (nan, "NaN"),
        (neg, "-1"),
        (np.full_like(x, -np.inf), "-inf"),
        (x.astype(np.float32), "float32"),
        (x.astype(np.int64), "int64"),
        (x.astype(object), "object"),
        ("spikes", "str"),
        ([[[2.0, 1.0], 0.0, 0.0, 0.0, 0.0]], "comes after"),  # unsorted channel
        ([[["a"], 0.0, 0.0, 0.0, 0.0]], "inputs\\[0\\]\\[0\\]"),
        ([[np.zeros((2, 2)), 0.0, 0.0, 0.0, 0.0]], "1-D"),
        ([5.0], "inputs\\[0\\]"),
    ]


@pytest.mark.parametrize("case", range(14))
def test_bad_inputs(net, data, case):
    x, y = data
    bad, message = bad_inputs(x)[case]
    for call in (
        lambda: net.first_spike_times(bad),
        lambda: net.simulate(bad),
        lambda: net.predict(bad),
        lambda: net.loss_and_grad(bad, y[: len(bad)] if hasattr(bad, "__len__") else y),
    ):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize(
    "labels, message",
    [
        (lambda y: y.astype(np.float64), "integers"),
        (lambda y: y[:-1], "7 labels for 8|expected 8, got 7"),
        (lambda y: y.reshape(2, 4), "1-D"),
        (lambda y: np.full_like(y, 3), "label 3 out of range for 3 classes"),
        (lambda y: np.full_like(y, -1), "-1 is negative"),
        (lambda y: [0.5] * len(y), "labels\\[0\\]"),
        (lambda y: "abc", "str"),
        (lambda y: None, "NoneType"),
    ],
)
def test_bad_labels(net, data, labels, message):
    x, y = data
    for call in (net.loss_and_grad, net.loss, net.accuracy):
        with pytest.raises(ValueError, match=message):
            call(x, labels(y))


def test_unknown_loss(net, data):
    with pytest.raises(ValueError, match='unknown loss "mse"'):
        net.loss_and_grad(*data, loss="mse")
    with pytest.raises(ValueError, match='unknown loss "mse"'):
        net.loss(*data, loss="mse")


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("adex",), {}, "unknown neuron model `adex`"),
        (("",), {}, "empty"),
        (("qif",), {"theta": 1.0}, 'unknown constant "theta"'),
        (("qif",), {"tau_mem": -1.0}, "tau_mem"),
        (("lif",), {"tau_syn": np.nan}, "tau_syn = NaN is not finite"),
        (("eif",), {"delta_t": 0.0}, "delta_t"),
        (("eif",), {"nonsense": 1.0}, "nonsense"),
        (("qif", [5]), {}, "at least"),
        (("qif", [5, 0, 3]), {}, "hidden"),
        (("qif", [5, -2, 3]), {}, "negative"),
        (("qif", [5, 3], -1), {}, "-1"),
        (("qif",), {"t_max": np.inf}, "t_max = inf"),
        (("qif",), {"tol": -1.0}, "tol"),
        (("qif",), {"integrator": "euler"}, "euler"),
        (("qif",), {"integrator": "closed-form"}, "closed-form integrator is for LIF only"),
        (("qif",), {"init": {"wlim": -1.0}}, "wlim"),
        (("qif",), {"init": {"typo": 1.0}}, "typo"),
    ],
)
def test_bad_networks(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        evnn.Network(*args, **kwargs)


def test_bad_params(net):
    p = net.params
    cases = [
        ([p[0]], "1 layers, the network 2"),
        ({"weights": 1}, "list of one dict"),
        ([p[0], "x"], "params\\[1\\] must be a dict"),
        ([p[0], {"weights": p[1]["weights"]}], 'params\\[1\\] has no "biases"'),
        ([p[0], {**p[1], "bias": 0}], 'unknown key "bias"'),
        ([p[0], {**p[1], "weights": p[1]["weights"].T}], "shape \\[6, 3\\], expected \\[3, 6\\]"),
        ([p[0], {**p[1], "biases": p[1]["biases"].astype(np.float32)}], "float32"),
        ([p[0], {**p[1], "biases": np.array([0.0, np.nan, 1.0])}], "NaN"),
        ([p[0], {**p[1], "weights": np.full((3, 6), np.inf)}], "inf"),
        ([p[0], {**p[1], "biases": ["a", "b", "c"]}], "numbers"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            net.set_params(bad)
    # Nothing changed.
    for a, b in zip(net.params, p):
        assert np.array_equal(a["weights"], b["weights"]) and np.array_equal(a["biases"], b["biases"])


def test_bad_data_arguments():
    for kwargs, message in [
        ({"split": "val"}, 'unknown split "val"'),
        ({"seed": -1}, "seed -1"),
        ({"seed": 2**33}, "out of range"),
        ({"size": -5}, "size -5"),
        ({"t_max": np.nan}, "NaN|nan"),
        ({"t_max": 0.0}, "0"),
    ]:
        with pytest.raises(ValueError, match=message):
            evnn.yin_yang(**kwargs)


def test_bad_model_files(tmp_path):
    with pytest.raises(ValueError, match="cannot access model file"):
        evnn.load_model(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"format": "evnn-model", "version": 1')
    with pytest.raises(ValueError, match="not a valid evnn model"):
        evnn.load_model(tmp_path / "bad.json")
    net = evnn.Network("lif", [5, 4, 3])
    net.save(tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text().replace('"version": 1', '"version": 9')
    (tmp_path / "v9.json").write_text(text)
    with pytest.raises(ValueError, match="version 9"):
        evnn.load_model(tmp_path / "v9.json")
    with pytest.raises(ValueError, match="cannot access model file"):
        net.save(tmp_path / "no-such-dir" / "m.json")


def test_bad_train_configs():
    for kwargs, message in [
        ({"epochs": 1, "lr2": 0.1}, "unknown field `lr2`"),
        ({"epochs": 1, "lr": -0.1}, "lr must be finite and > 0"),
        ({"epochs": 1, "lr": np.nan}, "lr = NaN|lr = nan"),
        ({"epochs": 1, "model": "adex"}, "unknown neuron model `adex`"),
        ({"epochs": 1, "train_size": 0}, "train_size"),
        ({"epochs": 1, "loss": "mse"}, "mse"),
        ({"epochs": 1, "hidden": "20"}, "hidden|sequence"),
        ({"epochs": 1, "callback": 3}, "callable"),
    ]:
        with pytest.raises(ValueError, match=message):
            evnn.train(**kwargs)


def test_callback_errors_stop_training():
    calls = []

    def stop(m):
        calls.append(m["epoch"])
        raise KeyError("enough")

    with pytest.raises(KeyError, match="enough"):
        evnn.train(epochs=5, train_size=100, val_size=50, test_size=50, callback=stop)
    assert calls == [1]
