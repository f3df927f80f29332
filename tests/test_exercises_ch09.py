"""Chapter 9's graded exercises: the diagnoses are wrong answers, the cases avoid ReLU's kink,
the references are what nnlab builds. (Reference solutions, agreement of the references, the
bug catalogue, the notebook's wiring and points, isolated grading: tests/test_exercises.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.exercises import ch09
from nnlab.exercises._core import _copy_args, compare


@pytest.mark.parametrize("name", sorted(ch09.EXERCISES))
def test_every_diagnosis_is_a_wrong_answer_on_every_case(name):
    # A diagnosis that coincided with the right answer would be attached to nothing, or
    # worse, describe a right answer as a mistake.
    exercise = ch09.EXERCISES[name]
    for case in exercise.cases()[:1]:  # the first case is the one with distinct widths
        expected = exercise.references[0][1](*_copy_args(case.args))
        for note, wrong_answer in exercise.diagnoses:
            assert compare(expected, wrong_answer(*_copy_args(case.args)),
                           item_names=exercise.output_names) is not None, note


def test_relu_inputs_stay_away_from_the_kink_and_both_sides_occur():
    for case in ch09.residual_backward.cases():
        X, W1, b1 = case.args[:3]
        Z = X @ W1.T + b1
        assert np.abs(Z).min() > 1e-3
    zs = [W @ x + b for x, W, b in (c.args for c in ch09.residual_jacobian.cases())]
    assert all(np.abs(z).min() > 1e-3 for z in zs)
    assert all((z > 0).any() and (z < 0).any() for z in zs if z.size > 1)


def test_the_jacobian_rows_are_outputs():
    x, W, b = ch09.residual_jacobian.cases()[0].args
    J = ch09.residual_jacobian.references[0][1](x, W, b)
    z = W @ x + b
    np.testing.assert_allclose(J, np.eye(len(x)) + (z > 0)[:, None] * W, rtol=1e-12)
    assert not np.allclose(J, J.T)


def test_the_prenorm_reference_is_what_mlp_builds():
    import nnlab

    X, gamma, beta, W, b = ch09.prenorm_block.cases()[0].args
    net = nnlab.mlp([3, 3, 3, 3], "relu", norm="layer", residual=True, rng=0)
    block = net[3]
    assert isinstance(block, nnlab.Residual)
    ln, linear, _ = block.module
    ln.weight.value[...], ln.bias.value[...] = gamma, beta
    linear.weight.value[...], linear.bias.value[...] = W, b
    np.testing.assert_allclose(block(X), ch09.prenorm_block.references[0][1](X, gamma, beta, W, b),
                               rtol=1e-12)


def test_every_exercise_has_at_least_five_cases():
    for exercise in ch09.EXERCISES.values():
        assert len(exercise.cases()) >= 5, exercise.name


def test_the_last_hint_adds_the_skip_path(capsys):
    ch09.residual_backward.hint(3)
    assert "∂ℒ/∂X = G + Δ W₁" in capsys.readouterr().out


