"""The leaky-integrator readout (Network.readout_scores, readout_loss,
readout_loss_and_grad): scores against the readout's voltage computed
here in numpy from the network's own spikes, the loss against the softmax
of the scores, the gradient against central finite differences, and bad
input."""

import numpy as np
import pytest

import evnn
from conftest import central_differences

TAU_MEM, TAU_SYN = 20.0, 5.0


def kernel(u, tau_mem=TAU_MEM, tau_syn=TAU_SYN):
    """A unit weight's voltage u after its spike (0 before)."""
    u = np.asarray(u, dtype=float)
    k = tau_syn / (tau_syn - tau_mem) * (np.exp(-u / tau_syn) - np.exp(-u / tau_mem))
    return np.where(u > 0, k, 0.0)


def voltages(last_layer, weights, t):
    """Every readout neuron's voltage at the times t: (n_classes, len(t))."""
    v = np.zeros((weights.shape[0], len(t)))
    for c, spikes in enumerate(last_layer):
        for s in spikes:
            v += weights[:, c : c + 1] * kernel(t - s)[None, :]
    return v


def setup(n=8, seed=2):
    net = evnn.Network("lif", [5, 6], seed=seed)
    x, y = evnn.yin_yang("train", size=n)
    rng = np.random.default_rng(seed)
    w = rng.normal(0.5, 1.0, (3, 6)) * 4 / np.sqrt(6)
    return net, x, y, w


def test_scores_are_the_readout_voltage_maximum_and_mean():
    net, x, _, w = setup()
    t_max = net.t_max
    fine = np.linspace(0.0, t_max, 300_001)
    scores = net.readout_scores(x, w)
    means = net.readout_scores(x, w, score="mean")
    assert scores.shape == means.shape == (len(x), 3)
    assert net.readout_scores(x[:0], w).shape == (0, 3)
    spiking = 0
    for i, layers in enumerate(net.simulate(x)):
        last = layers[-1]
        spiking += sum(len(s) for s in last)
        # The grid's maximum (with the spike times, where kinks sit) lies
        # at most a grid step's rise below the exact one, never above.
        times = np.sort(np.concatenate([fine] + [s for s in last]))
        v = voltages(last, w, times)
        grid_max = np.maximum(v.max(axis=1), 0.0)
        assert np.all(scores[i] >= grid_max - 1e-12), (scores[i], grid_max)
        assert np.all(scores[i] - grid_max <= 1e-7), (scores[i], grid_max)
        # The mean: each spike's kernel integrated in closed form to t_max.
        a = TAU_SYN / (TAU_SYN - TAU_MEM)
        mean = np.zeros(3)
        for c, spikes in enumerate(last):
            for s in spikes:
                u = t_max - s
                integral = a * (TAU_SYN * -np.expm1(-u / TAU_SYN) - TAU_MEM * -np.expm1(-u / TAU_MEM))
                mean += w[:, c] * integral / t_max
        np.testing.assert_allclose(means[i], mean, rtol=1e-12, atol=1e-14)
    assert spiking > 0, "the test needs spikes in the last layer"


def test_loss_is_the_cross_entropy_of_the_scores():
    net, x, y, w = setup()
    for score in ("max", "mean"):
        s = net.readout_scores(x, w, score=score)
        z = s - s.max(axis=1, keepdims=True)
        ce = -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1)))
        loss = net.readout_loss(x, y, w, score=score)
        assert np.isclose(loss, ce.mean(), rtol=1e-12), (score, loss, ce.mean())
        l2, _, _ = net.readout_loss_and_grad(x, y, w, score=score)
        assert l2 == loss


@pytest.mark.parametrize("score", ["max", "mean"])
def test_gradient_matches_central_differences(score):
    net, x, y, w = setup(n=16, seed=3)
    loss, grads, gw = net.readout_loss_and_grad(x, y, w, score=score)
    assert gw.shape == w.shape
    h = 1e-6
    # The readout weights.
    fd_w = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[idx] += h
        down[idx] -= h
        fd_w[idx] = (net.readout_loss(x, y, up, score=score) - net.readout_loss(x, y, down, score=score)) / (2 * h)
    np.testing.assert_allclose(gw, fd_w, rtol=1e-6, atol=1e-8)
    compared = w.size
    # The network's weights and biases, through every spike.
    fd = central_differences(net, h, lambda probe: probe.readout_loss(x, y, w, score=score))
    agree = total = 0
    for g_layer, fd_layer in zip(grads, fd):
        for name, g in g_layer.items():
            # An entry whose perturbation moves a spike across t_max or
            # makes one appear jumps; the rest agree closely.
            ok = np.abs(g - fd_layer[name]) <= 1e-6 * np.maximum(1.0, np.abs(g)) + 1e-8
            agree += int(np.count_nonzero(ok))
            total += ok.size
    assert agree >= 0.95 * total, (agree, total)
    compared += agree
    assert compared >= 40, compared


def test_gradient_descent_lowers_the_loss():
    net, x, y, w = setup(n=32, seed=4)
    before = net.readout_loss(x, y, w)
    for _ in range(5):
        _, grads, gw = net.readout_loss_and_grad(x, y, w)
        net.set_params([{k: p[k] - 0.05 * g[k] for k in p} for p, g in zip(net.params, grads)])
        w = w - 0.05 * gw
    after = net.readout_loss(x, y, w)
    assert after < before, (before, after)


def test_bad_input_is_a_value_error_naming_it():
    net, x, y, w = setup()
    with pytest.raises(ValueError, match=r"6 neurons"):
        net.readout_scores(x, w[:, :5])
    with pytest.raises(ValueError, match=r"2-D"):
        net.readout_scores(x, w.ravel())
    bad = w.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"(?i)nan"):
        net.readout_loss(x, y, bad)
    with pytest.raises(ValueError, match=r"float64"):
        net.readout_scores(x, w.astype(np.float32))
    with pytest.raises(ValueError, match=r"\"median\""):
        net.readout_scores(x, w, score="median")
    with pytest.raises(ValueError, match=r"tau_syn"):
        net.readout_scores(x, w, tau_syn=20.0)
    with pytest.raises(ValueError, match=r"tau_mem"):
        net.readout_scores(x, w, tau_mem=-1.0)
    with pytest.raises(ValueError, match=r"label 3"):
        net.readout_loss(x, np.full(len(x), 3), w)
    with pytest.raises(ValueError, match=r"labels"):
        net.readout_loss(x, y[:-1], w)
    with pytest.raises(ValueError, match=r"at least one"):
        net.readout_scores(x, np.zeros((0, 6)))
