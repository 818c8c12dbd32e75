"""Event-based spiking neural networks with exact (EventProp) gradients.

Times are in ms. Every computation releases the GIL; bad input raises
ValueError with the library's message.
"""

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Any, Optional, Union

import numpy as np
import numpy.typing as npt

__version__: str

#: A float64 array (samples, channels) of one spike time per channel (inf:
#: no spike), or a list of samples, each a list of channels, each a number
#: or a sorted sequence of spike times.
Inputs = Union[npt.NDArray[np.float64], Sequence[Sequence[Union[float, Sequence[float], npt.NDArray[np.float64]]]]]
Labels = Union[npt.NDArray[np.integer], Sequence[int]]
#: One dict per layer: "weights" (n_out, n_in), "biases" (n_out,).
Params = list[dict[str, npt.NDArray[np.float64]]]

class Network:
    """A feed-forward spiking network: neuron model, constants, layer sizes
    and parameters."""

    def __init__(
        self,
        model: str = "qif",
        sizes: Sequence[int] = (5, 20, 3),
        seed: int = 0,
        *,
        t_max: float = 30.0,
        tol: float = 1e-6,
        integrator: str = "auto",
        init: Optional[dict[str, Any]] = None,
        layer_wide: bool = False,
        **constants: Any,
    ) -> None: ...
    @property
    def sizes(self) -> list[int]: ...
    @property
    def model(self) -> str: ...
    @property
    def constants(self) -> dict[str, Any]: ...
    @property
    def t_max(self) -> float: ...
    @property
    def tol(self) -> float: ...
    @property
    def integrator(self) -> str: ...
    @property
    def params(self) -> Params: ...
    @property
    def n_params(self) -> int: ...
    def set_params(self, params: Params) -> None: ...
    def copy(self) -> "Network": ...
    def __copy__(self) -> "Network": ...
    def __deepcopy__(self, memo: Any) -> "Network": ...
    def save(self, path: Union[str, PathLike[str]]) -> None: ...
    def first_spike_times(self, inputs: Inputs) -> npt.NDArray[np.float64]: ...
    def simulate(self, inputs: Inputs) -> list[list[list[npt.NDArray[np.float64]]]]: ...
    def predict(self, inputs: Inputs) -> npt.NDArray[np.int64]: ...
    def accuracy(self, inputs: Inputs, labels: Labels) -> float: ...
    def loss(self, inputs: Inputs, labels: Labels, loss: str = "eventprop") -> float: ...
    def loss_and_grad(self, inputs: Inputs, labels: Labels, loss: str = "eventprop") -> tuple[float, Params]: ...
    def readout_scores(
        self,
        inputs: Inputs,
        weights: npt.NDArray[np.float64],
        *,
        tau_mem: float = 20.0,
        tau_syn: float = 5.0,
        score: str = "max",
    ) -> npt.NDArray[np.float64]: ...
    def readout_loss(
        self,
        inputs: Inputs,
        labels: Labels,
        weights: npt.NDArray[np.float64],
        *,
        tau_mem: float = 20.0,
        tau_syn: float = 5.0,
        score: str = "max",
    ) -> float: ...
    def readout_loss_and_grad(
        self,
        inputs: Inputs,
        labels: Labels,
        weights: npt.NDArray[np.float64],
        *,
        tau_mem: float = 20.0,
        tau_syn: float = 5.0,
        score: str = "max",
    ) -> tuple[float, Params, npt.NDArray[np.float64]]: ...

def load_model(path: Union[str, PathLike[str]]) -> Network: ...
def yin_yang(
    split: str = "train",
    seed: Optional[int] = None,
    *,
    size: Optional[int] = None,
    t_max: float = 30.0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
def train(callback: Optional[Callable[[dict[str, Any]], Any]] = None, **config: Any) -> dict[str, Any]: ...
