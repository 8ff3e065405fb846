"""The networks of the torch heads: a stack of ReLU layers and a linear output.

Parameters are initialised from an explicit ``torch.Generator`` (on the CPU,
then moved), never from torch's global RNG: a head seeded with
``random_state`` gives the same weights on every device and does not disturb
other code's random streams (training runs in a background thread). Dropout
draws its masks from a generator too, for the same reasons and so MC-dropout
samples are reproducible.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def _init_linear(fan_in: int, fan_out: int, generator: torch.Generator) -> tuple[nn.Parameter, nn.Parameter]:
    # Same distribution as nn.Linear's default (kaiming_uniform with a=sqrt(5)).
    bound = 1.0 / math.sqrt(max(1, fan_in))
    w = (torch.rand(fan_out, fan_in, generator=generator) * 2.0 - 1.0) * bound
    b = (torch.rand(fan_out, generator=generator) * 2.0 - 1.0) * bound
    return nn.Parameter(w), nn.Parameter(b)


class HeadNet(nn.Module):
    """``hidden`` ReLU layers with dropout, then a linear output of ``n_classes``.

    With ``hidden=()`` this is a linear probe (multinomial logistic regression).

    Parameters
    ----------
    n_inputs, n_classes : int
        Input width and number of output logits.
    hidden : tuple of int
        Widths of the hidden layers.
    dropout : float
        Probability of zeroing a hidden unit (training and MC-dropout only).
    generator : torch.Generator
        CPU generator the initial weights are drawn from.
    """

    def __init__(self, n_inputs: int, n_classes: int, hidden: tuple[int, ...], dropout: float,
                 generator: torch.Generator):
        super().__init__()
        self.dropout = float(dropout)
        self.hidden_w = nn.ParameterList()
        self.hidden_b = nn.ParameterList()
        width = n_inputs
        for size in hidden:
            w, b = _init_linear(width, size, generator)
            self.hidden_w.append(w)
            self.hidden_b.append(b)
            width = size
        self.out_w, self.out_b = _init_linear(width, n_classes, generator)

    def features(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Input of the output layer. Dropout is applied iff ``generator`` is given."""
        for w, b in zip(self.hidden_w, self.hidden_b):
            x = F.relu(F.linear(x, w, b))
            if generator is not None and self.dropout > 0.0:
                keep = torch.rand(x.shape, generator=generator, device=x.device) >= self.dropout
                x = x * keep / (1.0 - self.dropout)
        return x

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits (n, n_classes)."""
        return F.linear(self.features(x, generator), self.out_w, self.out_b)

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        return tuple(int(w.shape[0]) for w in self.hidden_w)
