"""The Network API: construction, parameters, files, passes, several
spikes per channel, copies, threads."""

import copy
import json
import sys
import threading

import numpy as np
import pytest

import evnn
from conftest import bits


def test_construction_and_description():
    net = evnn.Network("lif", [5, 7, 3], seed=1, tau_mem=15.0, theta=1.5, t_max=25.0, integrator="dopri5")
    assert net.model == "lif"
    assert net.sizes == [5, 7, 3]
    assert net.constants == {"tau_mem": 15.0, "tau_syn": 5.0, "theta": 1.5, "v_reset": 0.0}
    assert net.t_max == 25.0 and net.integrator == "dopri5" and net.tol == 1e-6
    assert net.n_params == 7 * 5 + 7 + 3 * 7 + 3
    assert repr(net) == "Network(model='lif', sizes=[5, 7, 3], t_max=25.0, integrator='dopri5')"
    default = evnn.Network()
    assert (default.model, default.sizes, default.integrator) == ("qif", [5, 20, 3], "auto")
    # The seed decides the parameters.
    a, b, c = (evnn.Network("qif", [5, 6, 3], seed=s).params[0]["weights"] for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # The initial distribution: weights in [wmean - wlim/2, wmean + wlim/2].
    w = evnn.Network("qif", [5, 50, 3], init={"wmean": 1.0, "wlim": 0.5, "bmean": 0.0, "blim": 0.0}).params[0]
    assert np.all((w["weights"] >= 0.75) & (w["weights"] <= 1.25)) and np.all(w["biases"] == 0.0)


def test_registered_models_take_their_constants():
    net = evnn.Network("izhikevich", [5, 4, 3], seed=0)
    assert net.model == "izhikevich" and "a" in net.constants
    x, y = evnn.yin_yang("test", size=8)
    loss, grads = net.loss_and_grad(x, y)
    assert np.isfinite(loss) and grads[0]["weights"].shape == (4, 5)


def test_layers_of_different_models():
    """`layers`: an EIF hidden layer and a LIF output layer, each layer's
    model and constants recorded; a layer list that does not fit the sizes
    is a ValueError naming the counts."""
    layers = [{"kind": "eif", "delta_t": 0.3}, {"kind": "lif"}]
    net = evnn.Network("layers", [5, 4, 3], seed=0, layers=layers)
    assert net.model == "layers"
    kinds = [l["kind"] for l in net.constants["layers"]]
    assert kinds == ["eif", "lif"] and net.constants["layers"][0]["delta_t"] == 0.3
    x, y = evnn.yin_yang("test", size=8)
    loss, grads = net.loss_and_grad(x, y)
    assert np.isfinite(loss) and grads[0]["weights"].shape == (4, 5)
    with pytest.raises(ValueError, match="expected 3, got 2"):
        evnn.Network("layers", [5, 4, 4, 3], seed=0, layers=layers)


def test_params_round_trip_and_set_params():
    net = evnn.Network("qif", [5, 6, 3], seed=0)
    p = net.params
    assert [(l["weights"].shape, l["biases"].shape) for l in p] == [((6, 5), (6,)), ((3, 6), (3,))]
    assert all(l["weights"].dtype == np.float64 for l in p)
    # A copy: changing it changes nothing until set_params.
    p[0]["weights"][0, 0] += 1.0
    assert net.params[0]["weights"][0, 0] == p[0]["weights"][0, 0] - 1.0
    net.set_params(p)
    assert net.params[0]["weights"][0, 0] == p[0]["weights"][0, 0]
    # Non-contiguous arrays and lists are read in their logical order.
    p[0]["weights"] = np.asfortranarray(p[0]["weights"])
    p[1]["biases"] = p[1]["biases"].tolist()
    net.set_params(p)
    assert np.array_equal(net.params[0]["weights"], p[0]["weights"])
    assert net.params[1]["biases"].tolist() == p[1]["biases"]


def test_save_and_load_round_trip(tmp_path):
    net = evnn.Network("lif", [5, 9, 3], seed=4, theta=1.2)
    net.save(tmp_path / "m.json")
    back = evnn.load_model(str(tmp_path / "m.json"))
    assert (back.model, back.sizes, back.constants) == (net.model, net.sizes, net.constants)
    x, y = evnn.yin_yang("validation", size=30)
    assert bits(back.loss(x, y)) == bits(net.loss(x, y))
    for a, b in zip(back.params, net.params):
        assert np.array_equal(bits(a["weights"]), bits(b["weights"]))


def test_saved_models_keep_their_integrator(tmp_path):
    """A model file records a chosen integrator (as `evnn train
    --integrator` writes it), so a loaded network computes what the saved
    one did; the default writes none."""
    net = evnn.Network("qif", [5, 7, 3], seed=2, integrator="dopri5")
    net.save(tmp_path / "d.json")
    assert json.loads((tmp_path / "d.json").read_text())["integrator"] == "dopri5"
    back = evnn.load_model(tmp_path / "d.json")
    assert back.integrator == "dopri5"
    x, y = evnn.yin_yang("validation", size=30)
    assert bits(back.loss(x, y)) == bits(net.loss(x, y))
    series = evnn.Network("qif", [5, 7, 3], seed=2)
    assert series.loss(x, y) != net.loss(x, y)
    series.save(tmp_path / "s.json")
    assert "integrator" not in json.loads((tmp_path / "s.json").read_text())
    assert evnn.load_model(tmp_path / "s.json").integrator == series.integrator


def test_layer_wide_is_the_neuron_by_neuron_network_to_round_off(tmp_path):
    """`layer_wide=True` (LIF on the closed form) gives the loss, gradient
    and first spikes of the neuron-by-neuron network to round-off; a saved
    file does not record it; other models refuse it."""
    init = {"wmean": 2.0, "wlim": 3.0, "bmean": 0.0, "blim": 0.0}
    net = evnn.Network("lif", [5, 30, 3], seed=4, init=init)
    wide = evnn.Network("lif", [5, 30, 3], seed=4, init=init, layer_wide=True)
    x, y = evnn.yin_yang("validation", size=40)
    loss, grads = net.loss_and_grad(x, y)
    wide_loss, wide_grads = wide.loss_and_grad(x, y)
    assert abs(wide_loss - loss) <= 1e-10 * abs(loss)
    for g, w in zip(grads, wide_grads):
        for key in ("weights", "biases"):
            scale = np.abs(g[key]).max()
            assert scale > 0
            assert np.abs(w[key] - g[key]).max() <= 1e-9 * scale
    first, wide_first = net.first_spike_times(x), wide.first_spike_times(x)
    assert np.array_equal(np.isinf(first), np.isinf(wide_first))
    finite = np.isfinite(first)
    assert np.abs(first[finite] - wide_first[finite]).max() <= 1e-10
    wide.save(tmp_path / "w.json")
    net.save(tmp_path / "n.json")
    assert (tmp_path / "w.json").read_bytes() == (tmp_path / "n.json").read_bytes()
    with pytest.raises(ValueError, match="closed-form integrator"):
        evnn.Network("qif", [5, 8, 3], layer_wide=True)


def test_other_sizes(tmp_path):
    """Networks of any size: 2 inputs and 4 outputs here, saved and loaded
    like the program's."""
    net = evnn.Network("lif", [2, 6, 4], seed=0, init={"wmean": 3.0, "wlim": 6.0, "bmean": 1.0, "blim": 0.5})
    x = np.array([[1.0, 5.0], [3.0, 0.5], [np.inf, 2.0]])
    first = net.first_spike_times(x)
    assert first.shape == (3, 4)
    loss, grads = net.loss_and_grad(x, [0, 3, 1])
    assert np.isfinite(loss) and grads[1]["weights"].shape == (4, 6)
    net.save(tmp_path / "m.json")
    back = evnn.load_model(tmp_path / "m.json")
    assert back.sizes == [2, 6, 4]
    assert np.array_equal(bits(back.first_spike_times(x)), bits(first))


def test_predict_first_spikes_and_silence():
    net = evnn.Network("lif", [5, 10, 3], seed=2)
    x, _ = evnn.yin_yang("test", size=50)
    first = net.first_spike_times(x)
    pred = net.predict(x)
    assert pred.dtype == np.int64 and pred.shape == (50,)
    fired = np.isfinite(first).any(axis=1)
    assert np.array_equal(pred[fired], np.argmin(first[fired], axis=1))
    assert np.all(pred[~fired] == -1)
    # A silent network: every output is inf, every prediction -1.
    p = net.params
    p[0]["weights"][:] = 0.0
    p[0]["biases"][:] = 0.0
    net.set_params(p)
    assert np.all(np.isinf(net.first_spike_times(x))) and np.all(net.predict(x) == -1)
    assert net.accuracy(x, np.zeros(50, dtype=np.int32)) == 0.0


def test_list_inputs_equal_array_inputs():
    net = evnn.Network("qif", [5, 8, 3], seed=0)
    x, y = evnn.yin_yang("test", size=12)
    as_lists = [[[t] for t in row] for row in x.tolist()]
    as_numbers = x.tolist()
    for other in (as_lists, as_numbers, [list(map(np.array, r)) for r in as_lists]):
        assert np.array_equal(bits(net.first_spike_times(other)), bits(net.first_spike_times(x)))
        assert bits(net.loss(other, y)) == bits(net.loss(x, y))
    # inf in an array is a channel without a spike, as [] in a list.
    x2 = x.copy()
    x2[:, 2] = np.inf
    lists = [[[t] for t in row[:2]] + [[]] + [[t] for t in row[3:]] for row in x.tolist()]
    assert np.array_equal(bits(net.first_spike_times(x2)), bits(net.first_spike_times(lists)))


def test_several_spikes_per_channel():
    """A channel with spikes at a and b is the same input as two channels
    with one spike each and the same weights, bit for bit."""
    one = evnn.Network("lif", [1, 4, 3], seed=0, init={"wmean": 4.0, "wlim": 2.0, "bmean": 0.0, "blim": 0.0})
    two = evnn.Network("lif", [2, 4, 3], seed=0)
    p = one.params
    q = two.params
    q[0]["weights"] = np.repeat(p[0]["weights"], 2, axis=1)
    q[0]["biases"] = p[0]["biases"]
    q[1] = p[1]
    two.set_params(q)
    multi = [[[2.0, 7.0]], [[1.0, 1.5]], [[0.5, 9.0]]]
    split = np.array([[2.0, 7.0], [1.0, 1.5], [0.5, 9.0]])
    a, b = one.simulate(multi), two.simulate(split)
    hidden_spikes = 0
    for sa, sb in zip(a, b):
        for la, lb in zip(sa, sb):
            for ta, tb in zip(la, lb):
                assert np.array_equal(bits(ta), bits(tb))
                hidden_spikes += len(ta)
    assert hidden_spikes > 0
    assert bits(one.loss(multi, [0, 1, 2])) == bits(two.loss(split, [0, 1, 2]))
    ga = one.loss_and_grad(multi, [0, 1, 2])[1]
    gb = two.loss_and_grad(split, [0, 1, 2])[1]
    # The split channels' weight gradients add up to the channel's.
    assert np.allclose(ga[0]["weights"][:, 0], gb[0]["weights"].sum(axis=1), rtol=1e-12, atol=1e-15)
    assert np.array_equal(bits(ga[1]["weights"]), bits(gb[1]["weights"]))


def test_copies_are_independent():
    net = evnn.Network("qif", [5, 4, 3], seed=0)
    for c in (net.copy(), copy.copy(net), copy.deepcopy(net)):
        p = c.params
        p[1]["biases"][:] = 0.25
        c.set_params(p)
        assert np.all(c.params[1]["biases"] == 0.25)
        assert not np.all(net.params[1]["biases"] == 0.25)


def test_compute_releases_the_gil():
    """While a pass computes, other Python threads run: with a switch
    interval far longer than the test, the main thread's counter can only
    move during the pass if the pass released the GIL."""
    net = evnn.Network("qif", [5, 20, 3], seed=0)
    x, y = evnn.yin_yang("train", size=2000)
    counter = [0]
    done = threading.Event()
    seen = {}

    def work():
        before = counter[0]
        net.loss_and_grad(x, y)
        seen["moved"] = counter[0] - before
        done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        t = threading.Thread(target=work)
        t.start()
        while not done.is_set():
            counter[0] += 1
            done.wait(0.0005)
        t.join()
    finally:
        sys.setswitchinterval(old)
    assert seen["moved"] > 0
