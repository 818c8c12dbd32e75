"""The example script trains from Python (a seeded two-epoch run) and
draws its decision map where matplotlib is installed."""

import importlib.util
import pathlib
import re
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "train_yinyang.py"


def test_example_trains(tmp_path):
    plot = tmp_path / "decision.png"
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", "2", "--plot", str(plot)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    assert len(re.findall(r"^epoch +\d+ ", out, re.M)) == 2, out
    acc = float(re.search(r"test accuracy ([\d.]+)%", out).group(1)) / 100
    # Two epochs of Adam lift the network well above chance (1/3).
    assert acc > 0.5, out
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    assert plot.exists() == has_matplotlib, out
    if has_matplotlib:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


READOUT = EXAMPLE.parent / "readout_bursts.py"


def test_readout_example_trains():
    """The readout example starts at chance (1/3) and learns which
    channel fires the most spikes."""
    out = subprocess.run(
        [sys.executable, str(READOUT), "--epochs", "5"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    accs = [float(a) / 100 for a in re.findall(r"test accuracy ([\d.]+)%", out)]
    assert len(accs) == 7, out  # epochs 0-5 and the final line
    assert accs[0] < 0.5 and accs[-1] > 0.9, out
