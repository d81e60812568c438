"""A vanilla RNN written from scratch, and probes of gradients through time.

The cell is one line of algebra,

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),

and the layer applies it word by word, so T inputs give T outputs. Parameter
names match ``torch.nn.RNNCell`` (for ``RNNCell``) and a one-layer
``torch.nn.RNN`` (for ``RNN``), so weights can be copied either way with
``load_state_dict``.

The probes measure how a gradient fades or blows up on its way back through
time: ``gradient_norms`` returns ``||dh_T / dh_t||`` (spectral norm of the
Jacobian) for ``t = 0..T``, computed as the chain-rule product of one-step
Jacobians ``dh_k / dh_{k-1}``.
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Tuple

import torch
from torch import Tensor, nn

from .checks import check_choice

__all__ = [
    "rnn_cell_step",
    "RNNCell",
    "RNN",
    "matrix_with_spectral_radius",
    "gradient_norms",
    "vanilla_rnn_gradient_norms",
    "gated_rnn_gradient_norms",
]

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def rnn_cell_step(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Optional[Tensor] = None,
    bias_hh: Optional[Tensor] = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """One step of a vanilla RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Shapes: ``x (B, I)``, ``h (B, H)``, ``weight_ih (H, I)``, ``weight_hh (H, H)``
    -> ``h' (B, H)``.
    """
    pre = x @ weight_ih.T + h @ weight_hh.T  # (B, H)
    if bias_ih is not None:
        pre = pre + bias_ih + bias_hh
    return _ACTIVATIONS[nonlinearity](pre)


def _rnn_parameters(input_size: int, hidden_size: int, bias: bool, nonlinearity: str
                    ) -> Tuple[nn.Parameter, nn.Parameter, Optional[nn.Parameter], Optional[nn.Parameter]]:
    """``W_ih (H, I)``, ``W_hh (H, H)``, ``b_ih (H,)``, ``b_hh (H,)`` (the biases None without ``bias``),
    drawn as ``torch.nn.RNN`` draws them: every number from U(-1/sqrt(H), 1/sqrt(H))."""
    check_choice(nonlinearity, "nonlinearity", _ACTIVATIONS)
    bound = 1.0 / math.sqrt(hidden_size)
    shapes = [(hidden_size, input_size), (hidden_size, hidden_size)] + [(hidden_size,)] * 2 * bool(bias)
    params = [nn.Parameter(torch.empty(shape).uniform_(-bound, bound)) for shape in shapes]
    return tuple(params + [None, None]) if not bias else tuple(params)


class RNNCell(nn.Module):
    """Vanilla RNN cell; parameters named like ``torch.nn.RNNCell``.

    ``forward(x (B, I), h (B, H) or None) -> h' (B, H)``; ``h=None`` means zeros.
    """

    def __init__(self, *, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh") -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh = _rnn_parameters(
            input_size, hidden_size, bias, nonlinearity)  # (H, I), (H, H), (H,), (H,)

    def forward(self, x: Tensor, h: Optional[Tensor] = None) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"x must be (B, I={self.input_size}), got {tuple(x.shape)}")
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        elif h.shape != (x.shape[0], self.hidden_size):
            raise ValueError(f"h must be (B={x.shape[0]}, H={self.hidden_size}), got {tuple(h.shape)}")
        return rnn_cell_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)


class RNN(nn.Module):
    """One-layer, batch-first vanilla RNN that loops over time in Python.

    Parameters are named like a one-layer ``torch.nn.RNN`` (``weight_ih_l0``,
    ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``), so
    ``nn.RNN(I, H, batch_first=True).load_state_dict(rnn.state_dict())`` works.

    ``forward(x (B, T, I), h0 (B, H) or None) -> (outputs (B, T, H), h_T (B, H))``.
    Unlike ``nn.RNN`` the final state has no leading layer axis.
    """

    def __init__(self, *, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh") -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0 = _rnn_parameters(
            input_size, hidden_size, bias, nonlinearity)  # (H, I), (H, H), (H,), (H,)

    def step(self, x_t: Tensor, h: Tensor) -> Tensor:
        """One time step: ``x_t (B, I)``, ``h (B, H)`` -> ``(B, H)``."""
        return rnn_cell_step(
            x_t, h, self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0, self.nonlinearity
        )

    def forward(self, x: Tensor, h0: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must be (B, T, I={self.input_size}), got {tuple(x.shape)}")
        B, T, _ = x.shape
        if h0 is None:
            h0 = x.new_zeros(B, self.hidden_size)
        elif h0.shape != (B, self.hidden_size):
            raise ValueError(f"h0 must be (B={B}, H={self.hidden_size}), got {tuple(h0.shape)}")
        h, outputs = h0, []
        for t in range(T):  # one hidden vector, updated word by word
            h = self.step(x[:, t], h)  # (B, H)
            outputs.append(h)
        if T == 0:
            return x.new_zeros(B, 0, self.hidden_size), h
        return torch.stack(outputs, dim=1), h  # (B, T, H), (B, H)


# --------------------------------------------------------------------------
# Gradients through time
# --------------------------------------------------------------------------


def matrix_with_spectral_radius(
    n: int, radius: float, *, generator: Optional[torch.Generator] = None, dtype: torch.dtype = torch.float32
) -> Tensor:
    """A random ``(n, n)`` Gaussian matrix rescaled so that ``max |eigenvalue| = radius``."""
    if n < 1 or radius < 0:
        raise ValueError(f"need n >= 1 and radius >= 0, got n={n}, radius={radius}")
    w = torch.randn(n, n, generator=generator, dtype=torch.float64) / math.sqrt(n)
    rho = torch.linalg.eigvals(w).abs().max()
    return (w * (radius / rho)).to(dtype)


StepFn = Callable[[Tensor, Tensor], Tensor]


def _step_fn(module: nn.Module) -> Tuple[StepFn, int, int]:
    """Return ``(step(x_t (I,), s (n,)) -> s' (n,), n, H)`` for a one-layer recurrent module.

    The state ``s`` is ``h`` for RNN/GRU and ``[h; c]`` for an LSTM.
    """
    if isinstance(module, RNN):
        H = module.hidden_size
        return (lambda x, s: module.step(x[None], s[None])[0]), H, H
    if isinstance(module, (nn.RNN, nn.GRU, nn.LSTM)):
        if module.num_layers != 1 or module.bidirectional or getattr(module, "proj_size", 0):
            raise ValueError("gradient probes need a one-layer, unidirectional module without projection")
        H = module.hidden_size
        if isinstance(module, nn.LSTM):
            def lstm_step(x: Tensor, s: Tensor) -> Tensor:
                h, c = s[:H].reshape(1, 1, H), s[H:].reshape(1, 1, H)  # (layers=1, B=1, H)
                _, (h2, c2) = module(x.reshape(1, 1, -1), (h, c))
                return torch.cat([h2.reshape(H), c2.reshape(H)])  # (2H,)
            return lstm_step, 2 * H, H

        def step(x: Tensor, s: Tensor) -> Tensor:
            _, h2 = module(x.reshape(1, 1, -1), s.reshape(1, 1, H))  # (layers=1, B=1, H)
            return h2.reshape(H)
        return step, H, H
    raise ValueError(f"gradient probes support attnbook.rnn.RNN, nn.RNN, nn.GRU, nn.LSTM; got {type(module).__name__}")


def gradient_norms(module: nn.Module, x: Tensor, h0: Optional[Tensor] = None) -> Tensor:
    """``||dh_T / dh_t||_2`` for ``t = 0..T`` along one input sequence.

    ``module`` is a one-layer ``RNN`` (this file), ``nn.RNN``, ``nn.GRU`` or
    ``nn.LSTM``; ``x`` is one sequence ``(T, I)``; ``h0`` the initial state
    ``(H,)`` (``(2H,)`` = ``[h; c]`` for an LSTM), zeros if omitted.
    Returns a ``(T + 1,)`` tensor whose last entry is 1 (``dh_T/dh_T = I``).
    For an LSTM the derivative is taken with respect to the whole state
    ``(h_t, c_t)``. The norm is the spectral norm (largest singular value):
    the most any gradient vector can be stretched on its way back.
    """
    step, n, H = _step_fn(module)
    if x.dim() != 2:
        raise ValueError(f"x must be one sequence (T, I), got {tuple(x.shape)}")
    s = x.new_zeros(n) if h0 is None else h0
    if s.shape != (n,):
        raise ValueError(f"h0 must be ({n},), got {tuple(s.shape)}")
    jacobians = []
    with torch.enable_grad():
        for t in range(x.shape[0]):
            x_t = x[t]
            J = torch.autograd.functional.jacobian(lambda s_: step(x_t, s_), s.detach(), vectorize=True)
            jacobians.append(J)  # (n, n) = ds_{t+1} / ds_t
            s = step(x_t, s.detach()).detach()
    # Chain rule, from the end backwards: G_T = dh_T/ds_T, G_t = G_{t+1} J_{t+1}
    G = torch.eye(H, n, dtype=x.dtype, device=x.device)  # (H, n)
    norms = [torch.linalg.matrix_norm(G, ord=2)]
    for J in reversed(jacobians):
        G = G @ J  # (H, n)
        norms.append(torch.linalg.matrix_norm(G, ord=2))
    return torch.stack(norms[::-1]).detach()  # (T + 1,), index t


def vanilla_rnn_gradient_norms(radius: float, *, steps: int = 50, hidden_size: int = 64, input_size: int = 8,
                               input_scale: float = 1.0, seed: int = 0) -> Tensor:
    """``||dh_T/dh_t||`` (``t = 0..steps``) of a tanh RNN whose ``W_hh`` has spectral radius ``radius``.

    The recurrent matrix is ``matrix_with_spectral_radius``; input weights are
    torch's default initialisation, biases zero, inputs ``input_scale * N(0, 1)``.
    Computed in float64 so that 1e-20 and 1e+10 are both exact.
    """
    g = torch.Generator().manual_seed(seed)
    rnn = RNN(input_size=input_size, hidden_size=hidden_size).double()
    with torch.no_grad():
        bound = 1.0 / math.sqrt(hidden_size)
        w_ih = torch.rand(hidden_size, input_size, generator=g, dtype=torch.float64) * 2 * bound - bound
        rnn.weight_ih_l0.copy_(w_ih)  # torch's default init, from our own generator
        rnn.weight_hh_l0.copy_(matrix_with_spectral_radius(hidden_size, radius, generator=g, dtype=torch.float64))
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    x = input_scale * torch.randn(steps, input_size, generator=g, dtype=torch.float64)  # (T, I)
    return gradient_norms(rnn, x)


def gated_rnn_gradient_norms(kind: str = "gru", *, steps: int = 50, hidden_size: int = 64, input_size: int = 8,
                             input_scale: float = 1.0, memory_bias: float = 0.0, seed: int = 0) -> Tensor:
    """The same probe for a freshly initialised ``nn.GRU`` (``kind="gru"``) or ``nn.LSTM`` (``"lstm"``).

    ``memory_bias`` is added to the bias of the gate that keeps the old state
    (the GRU's update gate ``z`` in ``h' = (1 - z) * n + z * h``, the LSTM's
    forget gate): at 0 (torch's initialisation) the gates sit near 0.5 and the
    gradient still fades; a positive value, which training can learn, opens
    a nearly additive path through time.
    """
    check_choice(kind, "kind", ("gru", "lstm"))
    cls = {"gru": nn.GRU, "lstm": nn.LSTM}[kind]
    g = torch.Generator().manual_seed(seed)
    module = cls(input_size, hidden_size, batch_first=True).double()
    with torch.no_grad():
        bound = 1.0 / math.sqrt(hidden_size)
        for p in module.parameters():  # torch's default init, but from our own generator
            p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 * bound - bound)
        # gate chunks: GRU [reset | update | new], LSTM [input | forget | cell | output]
        module.bias_ih_l0[hidden_size: 2 * hidden_size] += memory_bias
    x = input_scale * torch.randn(steps, input_size, generator=g, dtype=torch.float64)  # (T, I)
    return gradient_norms(module, x)
