"""Chapter 4's graded exercises: the cases avoid ReLU's kink and a constant factor is named
only when it explains the error. (Reference solutions, agreement of the references, the bug
catalogue and isolated grading: tests/test_exercises.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.exercises import ch04


def test_relu_inputs_stay_away_from_the_kink():
    # Central differences straddling a ReLU kink would be wrong; the cases keep |Z1| > eps.
    for case in ch04.mlp_backward.cases():
        X, _, W1, b1 = case.args[:4]
        assert np.abs(X @ W1.T + b1).min() > 1e-3


def test_a_constant_factor_is_named_only_when_it_explains_the_error():
    def linear_backward(X, W, G):
        return G @ W, -(G.T @ X), G.sum(axis=0)

    with pytest.raises(AssertionError, match=r"every entry of dW is -1 times the right one"):
        ch04.linear_backward.check(linear_backward)

    def shifted(X, W, G):
        return G @ W, G.T @ X + 1.0, G.sum(axis=0)

    with pytest.raises(AssertionError) as info:
        ch04.linear_backward.check(shifted)
    assert "times the right one" not in str(info.value)


def test_the_last_hint_shows_the_relu_mask(capsys):
    ch04.mlp_backward.hint(3)
    assert "𝟙[Z₁ > 0]" in capsys.readouterr().out


