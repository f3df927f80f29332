"""Chapter 10's graded exercises: the cases cover what the rules turn on, the L2 gradient is
weight decay's, the notes name the bug they explain and nothing else. (Reference solutions,
agreement of the references, the bug catalogue and isolated grading: tests/test_exercises.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_support import reference_solutions

import nnlab
from nnlab.exercises import ch10
from nnlab.exercises._core import _copy_args

SOLUTIONS = reference_solutions("ch10")


def test_the_cases_cover_eval_mode_and_weights_that_are_exactly_zero():
    dropout_modes = {case.args[4] for case in ch10.dropout.cases()}
    assert dropout_modes == {True, False}
    for seed in (None, 1, 2):  # check's cases and graded ones: the subgradient at 0 is tested
        assert all((case.args[1] == 0).any() and (case.args[1] != 0).any()
                   for case in ch10.l1_regularize.cases(seed))


@pytest.mark.torch
def test_the_l1_subgradient_is_zero_at_zero_like_pytorch_autograd():
    torch = pytest.importorskip("torch")
    (loss, W, b, dW, db, lam) = ch10.l1_regularize.cases()[0].args
    Wt = torch.tensor(W, requires_grad=True)
    (lam * Wt.abs().sum()).backward()
    _, dW_total, _ = SOLUTIONS["l1_regularize"](loss, W, b, np.zeros_like(dW), db, lam)
    np.testing.assert_allclose(dW_total, Wt.grad.numpy())


def test_the_l2_gradient_is_what_weight_decay_adds():
    # SGD(weight_decay=lam) steps along dW + lam W: the exercise's answer is that gradient.
    case = ch10.l2_regularize.cases()[0]
    _, W, _, dW, db, lam = case.args
    _, dW_total, db_total = SOLUTIONS["l2_regularize"](*_copy_args(case.args))
    layer = nnlab.Linear(W.shape[1], W.shape[0])
    layer.weight.value[...] = W
    layer.weight.grad[...] = dW
    nnlab.optim.SGD([layer.weight], lr=0.1, weight_decay=lam).step()
    np.testing.assert_allclose(layer.weight.value, W - 0.1 * dW_total, rtol=1e-12)
    np.testing.assert_array_equal(db_total, db)


def test_a_note_is_added_only_when_it_explains_the_error():
    def shifted(loss, W, b, dW, db, lam):
        total, g_W, g_b = SOLUTIONS["l2_regularize"](loss, W, b, dW, db, lam)
        return total, g_W + 1.0, g_b

    with pytest.raises(AssertionError) as info:
        ch10.l2_regularize.check(shifted)
    assert "Note:" not in str(info.value)


