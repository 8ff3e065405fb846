"""A periodic light curve rebuilt from a catalogue's Fourier decomposition parameters.

Surveys such as OGLE publish, for each pulsating star, its period ``P``, its
mean magnitude, its peak-to-peak amplitude and the low-order Fourier
parameters of its light curve fitted as

    m(t) = A0 + sum_k A_k cos(2 pi k (t - t0) / P + phi_k)

reduced to the amplitude ratios ``R_k1 = A_k / A_1`` and the phase
differences ``phi_k1 = phi_k - k phi_1``. Choosing the time origin where
``phi_1 = 0`` gives the shape from those numbers alone:

    m(phase) = A0 + A1 [cos(2 pi phase) + sum_{k>=2} R_k1 cos(2 pi k phase + phi_k1)]

and ``A1`` follows from the published peak-to-peak amplitude. This is a
*reconstruction*: the shape the published parameters describe, not the
measured photometry (the dashboard says so on the plot). Pure numpy, no UI.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Samples per cycle of a reconstructed curve: smooth enough for four harmonics.
SAMPLES_PER_CYCLE = 200


@dataclass(frozen=True)
class FourierShape:
    """The published Fourier description of one star's light curve.

    Attributes
    ----------
    period
        Period in days (> 0).
    mean
        Mean magnitude ``A0``.
    amplitude
        Peak-to-peak amplitude in magnitudes (>= 0).
    ratios, phases
        ``R_k1`` and ``phi_k1`` (radians) for k = 2, 3, ...; a NaN term is
        left out (the survey published none), and the terms after it too.
    """

    period: float
    mean: float
    amplitude: float
    ratios: tuple[float, ...] = ()
    phases: tuple[float, ...] = ()

    @property
    def harmonics(self) -> int:
        """How many harmonics the published terms describe (1: a pure sinusoid)."""
        n = 1
        for ratio, phase in zip(self.ratios, self.phases):
            if not (np.isfinite(ratio) and np.isfinite(phase)):
                break
            n += 1
        return n


def unit_shape(phase: np.ndarray, ratios: Sequence[float], phases: Sequence[float]) -> np.ndarray:
    """``cos(2 pi phase) + sum_k R_k1 cos(2 pi k phase + phi_k1)`` (the curve with ``A1 = 1``)."""
    phase = np.asarray(phase, dtype=float)
    shape = np.cos(2 * np.pi * phase)
    for k, (ratio, offset) in enumerate(zip(ratios, phases), start=2):
        shape = shape + ratio * np.cos(2 * np.pi * k * phase + offset)
    return shape


def first_amplitude(amplitude: float, ratios: Sequence[float], phases: Sequence[float]) -> float:
    """``A1`` such that the reconstructed curve spans ``amplitude`` from peak to peak."""
    grid = np.linspace(0.0, 1.0, 4 * SAMPLES_PER_CYCLE, endpoint=False)
    span = float(np.ptp(unit_shape(grid, ratios, phases)))
    return float(amplitude) / span if span > 0 else 0.0


def reconstruct(shape: FourierShape, phase: np.ndarray) -> np.ndarray:
    """Magnitudes of the reconstructed curve at ``phase`` (in cycles, any range)."""
    n = shape.harmonics - 1
    ratios, phases = shape.ratios[:n], shape.phases[:n]
    a1 = first_amplitude(shape.amplitude, ratios, phases)
    return shape.mean + a1 * unit_shape(phase, ratios, phases)


def phased_curve(shape: FourierShape, cycles: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(phase, magnitude) over ``cycles`` cycles, the way light curves are drawn."""
    phase = np.linspace(0.0, cycles, int(SAMPLES_PER_CYCLE * cycles) + 1)
    return phase, reconstruct(shape, phase)


def in_time(shape: FourierShape, t: np.ndarray) -> np.ndarray:
    """Magnitudes at times ``t`` (days, origin where ``phi_1 = 0``)."""
    return reconstruct(shape, np.asarray(t, dtype=float) / shape.period)


def decompose(phase: np.ndarray, magnitude: np.ndarray, harmonics: int = 3) -> FourierShape:
    """Fit ``A0 + sum_k A_k cos(2 pi k phase + phi_k)`` by least squares; returns R_k1, phi_k1.

    The inverse of :func:`reconstruct` on one cycle (the period is 1, the
    amplitude the fitted curve's peak to peak): used to check reconstructions
    and handy for any phased light curve.
    """
    phase, magnitude = np.asarray(phase, dtype=float), np.asarray(magnitude, dtype=float)
    columns = [np.ones_like(phase)]
    for k in range(1, harmonics + 1):
        columns += [np.cos(2 * np.pi * k * phase), np.sin(2 * np.pi * k * phase)]
    coef, *_ = np.linalg.lstsq(np.column_stack(columns), magnitude, rcond=None)
    # a cos(x) + b sin(x) = A cos(x + phi) with A = hypot(a, b), phi = atan2(-b, a)
    amps = [float(np.hypot(coef[2 * k - 1], coef[2 * k])) for k in range(1, harmonics + 1)]
    phis = [float(np.arctan2(-coef[2 * k], coef[2 * k - 1])) for k in range(1, harmonics + 1)]
    ratios = tuple(a / amps[0] for a in amps[1:])
    phases = tuple(float(np.mod(phis[k - 1] - k * phis[0], 2 * np.pi)) for k in range(2, harmonics + 1))
    grid = np.linspace(0.0, 1.0, 4 * SAMPLES_PER_CYCLE, endpoint=False)
    fitted = coef[0] + sum(amps[k - 1] * np.cos(2 * np.pi * k * grid + phis[k - 1])
                           for k in range(1, harmonics + 1))
    return FourierShape(period=1.0, mean=float(coef[0]), amplitude=float(np.ptp(fitted)),
                        ratios=ratios, phases=phases)
