"""The light curve rebuilt from a star's period and Fourier parameters (dashboard/fourier.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from alabel.dashboard.fourier import FourierShape, decompose, in_time, phased_curve, reconstruct


def test_a_pure_cosine_has_the_catalogue_amplitude_and_period():
    shape = FourierShape(period=0.57, mean=18.2, amplitude=0.8)  # no R_k1: one harmonic
    t = np.linspace(0.0, 10 * 0.57, 10 * 512, endpoint=False)
    m = in_time(shape, t)
    assert np.ptp(m) == pytest.approx(0.8, abs=1e-6)
    assert m.mean() == pytest.approx(18.2, abs=1e-9)
    np.testing.assert_allclose(m, 18.2 + 0.4 * np.cos(2 * np.pi * t / 0.57), atol=1e-9)
    spectrum = np.abs(np.fft.rfft(m - m.mean()))
    frequency = np.fft.rfftfreq(len(t), d=t[1] - t[0])[np.argmax(spectrum)]
    assert frequency == pytest.approx(1 / 0.57, rel=1e-6)  # the dominant frequency is 1/P
    np.testing.assert_allclose(in_time(shape, t + 0.57), m, atol=1e-9)  # periodic in P


def test_published_ratios_and_phases_come_back_from_the_reconstruction():
    # An RR Lyrae-like (RRab) set of parameters.
    shape = FourierShape(period=0.55, mean=18.9, amplitude=0.72, ratios=(0.48, 0.33), phases=(4.0, 2.1))
    phase, m = phased_curve(shape, cycles=1.0)
    fitted = decompose(phase[:-1], m[:-1], harmonics=3)
    assert fitted.amplitude == pytest.approx(0.72, rel=1e-3)
    assert fitted.mean == pytest.approx(18.9, abs=1e-6)
    np.testing.assert_allclose(fitted.ratios, (0.48, 0.33), atol=1e-6)
    np.testing.assert_allclose(fitted.phases, (4.0, 2.1), atol=1e-6)


def test_a_missing_term_ends_the_series():
    # OGLE gives R21/phi21 but no R31/phi31 for delta Scuti stars: two harmonics, not NaN.
    shape = FourierShape(period=0.1, mean=17.0, amplitude=0.2, ratios=(0.3, math.nan), phases=(1.0, math.nan))
    assert shape.harmonics == 2
    m = reconstruct(shape, np.linspace(0, 1, 101))
    assert np.isfinite(m).all() and np.ptp(m) == pytest.approx(0.2, rel=1e-3)
    assert FourierShape(1.0, 0.0, 0.5, (math.nan,), (math.nan,)).harmonics == 1


def test_zero_amplitude_is_flat():
    assert np.ptp(reconstruct(FourierShape(1.0, 15.0, 0.0, (0.5,), (1.0,)), np.linspace(0, 1, 50))) == 0
