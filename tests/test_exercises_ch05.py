"""Chapter 5's graded exercises: the typical mistakes the checks recognise really differ
from the right answer, and the references are the rules of the chapter. (Reference
solutions, the bug catalogue and isolated grading: tests/test_exercises.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.exercises import ch05
from nnlab.exercises._core import _copy_args, compare


MISTAKES = {"sgd_momentum_step": ch05._momentum_mistakes, "adam_step": ch05._adam_mistakes,
            "train": ch05._train_mistakes, "nesterov_step": ch05._nesterov_mistakes}


@pytest.mark.parametrize("name", sorted(ch05.EXERCISES))
def test_every_recognised_mistake_differs_from_the_right_answer_on_every_case(name):
    # Otherwise a right answer could be "diagnosed", or a mistake could pass.
    exercise = ch05.EXERCISES[name]
    for case in exercise.cases():
        expected = exercise.references[0][1](*_copy_args(case.args))
        with np.errstate(all="ignore"):
            mistakes = MISTAKES[name](*_copy_args(case.args))
        for cause, result in mistakes:
            if name == "adam_step" and case.args[4] >= 100 and "eps" in cause:
                continue  # eps = 1e-8 with v far above it: inside or outside the root agree
            assert compare(expected, result, item_names=exercise.output_names), (case.describe(), cause)


def test_the_right_loop_written_out_equals_nnlab_fit_and_stops_early():
    for case in ch05.train.cases():
        expected = ch05._fit_reference(*case.args)
        assert compare(expected, ch05._loop(case.args)) is None
        epochs = case.args[9]
        assert len(expected[0]) < epochs  # early stopping happens in every case...
        assert expected[1] < len(expected[0]) - 1  # ...and the best epoch is not the last


def test_references_start_from_a_step_that_is_not_the_first():
    # nnlab's SGD copies the gradient into the buffer on step 1; the exercise's velocity
    # is an existing buffer, so the reference must take the general rule b = mu b + g.
    w, g, b = np.ones(2), np.full(2, 2.0), np.full(2, 3.0)
    w_new, b_new = ch05._momentum_reference(w, g, b, 0.1, 0.5)
    np.testing.assert_allclose(b_new, 0.5 * 3.0 + 2.0)
    np.testing.assert_allclose(w_new, 1.0 - 0.1 * 3.5)


def test_adam_reference_matches_the_textbook_formula_on_the_first_step():
    w, g = np.array([0.5, -1.0]), np.array([0.2, -3.0])
    w_new, m, v = ch05._adam_reference(w, g, np.zeros(2), np.zeros(2), 0, 0.1, 0.9, 0.999, 1e-8)
    # Bias-corrected first step: m_hat = g, v_hat = g^2, so the step is lr * sign(g).
    np.testing.assert_allclose(w_new, w - 0.1 * np.sign(g), rtol=1e-7)
    np.testing.assert_allclose(m, 0.1 * g)
    np.testing.assert_allclose(v, 0.001 * g**2)


def test_not_attempted_and_wrong_return_types_read_clearly():
    def train(model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size, patience, rng):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match=r"^train: not attempted yet"):
        ch05.train.check(train)
    with pytest.raises(AssertionError, match=r"should be a tuple of 2 items; received ndarray"):
        ch05.sgd_momentum_step.check(lambda w, grad, velocity, lr, momentum: w)
