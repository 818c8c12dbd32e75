"""loss_and_grad against central finite differences computed from numpy
through set_params and loss."""

import numpy as np
import pytest

import conftest
import evnn


def central_differences(net, x, y, h):
    """d(mean loss)/d(every parameter) in the layout of net.params."""
    return conftest.central_differences(net, h, lambda probe: probe.loss(x, y))


@pytest.mark.parametrize(
    "model, kwargs",
    [
        ("lif", {}),  # closed form: exact to round-off
        ("qif", {"tol": 1e-10}),  # Taylor series at a tight tolerance
    ],
)
def test_gradient_matches_central_differences(model, kwargs):
    net = evnn.Network(model, [5, 6, 3], seed=3, **kwargs)
    x, y = evnn.yin_yang("train", size=16)
    loss, grads = net.loss_and_grad(x, y)
    fd = central_differences(net, x, y, h=1e-5)
    compared = 0
    for g, f in zip(grads, fd):
        for name in ("weights", "biases"):
            a, b = g[name], f[name]
            assert a.shape == b.shape
            # Entries whose perturbation changes the event sequence (a
            # spike appears or vanishes) jump; the rest agree closely.
            ok = np.abs(a - b) <= 1e-5 * np.maximum(1.0, np.abs(a))
            assert ok.mean() >= 0.95, (name, a[~ok], b[~ok])
            compared += np.count_nonzero(ok & (np.abs(a) > 1e-6))
    assert compared >= 20, compared


def test_gradient_of_eventax_loss():
    net = evnn.Network("lif", [5, 5, 3], seed=1)
    x, y = evnn.yin_yang("test", size=10)
    l1, g1 = net.loss_and_grad(x, y, loss="eventax")
    l2, g2 = net.loss_and_grad(x, y)
    assert l1 != l2
    fd = central_differences(net, x, y, h=1e-5)  # of the default loss
    assert np.allclose(g2[1]["weights"], fd[1]["weights"], rtol=1e-5, atol=1e-7)
    probe = net.copy()
    p = net.params
    h = 1e-5
    p[1]["weights"][0, 0] += h
    probe.set_params(p)
    up = probe.loss(x, y, loss="eventax")
    p[1]["weights"][0, 0] -= 2 * h
    probe.set_params(p)
    down = probe.loss(x, y, loss="eventax")
    assert np.isclose((up - down) / (2 * h), g1[1]["weights"][0, 0], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("layer_wide", [False, True])
def test_recurrent_gradient_matches_central_differences(layer_wide):
    """A recurrent hidden layer (train(recurrent=...)), event by event and
    layer-wide: params show its recurrent weights, set_params takes them,
    and loss_and_grad's entries for them (and for everything else) match
    central differences."""
    r = evnn.train(
        model="lif",
        hidden=[5],
        epochs=1,
        train_size=64,
        val_size=32,
        test_size=32,
        seed=2,
        recurrent={"weights": {"kind": "normal", "mean": 0.0, "std": 0.5}},
        layer_wide=layer_wide,
    )
    net = r["model"]
    rec = net.params[0]["recurrent_weights"]
    assert rec.shape == (5, 5)
    assert np.all(np.diag(rec) == 0.0)  # no self-connections by default
    assert "recurrent_weights" not in net.params[1]
    x, y = evnn.yin_yang("train", size=16)
    loss, grads = net.loss_and_grad(x, y)
    fd = central_differences(net, x, y, h=1e-5)
    a, b = grads[0]["recurrent_weights"], fd[0]["recurrent_weights"]
    ok = np.abs(a - b) <= 1e-5 * np.maximum(1.0, np.abs(a))
    assert ok.mean() >= 0.9, (a[~ok], b[~ok])
    assert np.count_nonzero(ok & (np.abs(a) > 1e-6)) >= 5, a
    # An absent synapse (the diagonal) has no gradient.
    assert np.all(np.diag(a) == 0.0)
