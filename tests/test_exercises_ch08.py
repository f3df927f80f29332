"""Chapter 8's graded exercises: the cases and the cache, and the checks name the mistakes
they diagnose. (Reference solutions, agreement of the references, the bug catalogue and
isolated grading: tests/test_exercises.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_support import reference_solutions

from nnlab.exercises import ch08

SOLUTIONS = reference_solutions("ch08")


def test_batch_norm_cases_never_hold_a_batch_of_one_but_layer_norm_cases_do():
    assert all(c.args[1].shape[0] >= 2 for c in ch08.batchnorm_backward.cases())
    assert all(c.args[0].shape[0] >= 2 for c in ch08.batchnorm_forward.cases())
    assert any(c.args[1].shape[0] == 1 for c in ch08.layernorm_backward.cases())


def test_the_cache_is_the_students_own_but_must_be_there():
    def batchnorm_forward(x, gamma, beta, eps):
        x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
        return gamma * x_hat + beta, {"anything": "goes"}

    ch08.batchnorm_forward.check(batchnorm_forward)
    with pytest.raises(AssertionError, match=r"received a tuple of 3 items"):
        ch08.batchnorm_forward.check(lambda x, g, b, e: (x, x, x))


def test_a_diagnosis_is_given_only_when_a_mistake_explains_the_answer():
    def shifted(dout, x, gamma, eps):
        dx, dgamma, dbeta = SOLUTIONS["batchnorm_backward"](dout, x, gamma, eps)
        return dx + 0.5, dgamma, dbeta

    with pytest.raises(AssertionError) as info:
        ch08.batchnorm_backward.check(shifted)
    assert "Likely cause: dx should sum to zero over the batch" in str(info.value)

    def noisy(dout, x, gamma, eps):
        dx, dgamma, dbeta = SOLUTIONS["batchnorm_backward"](dout, x, gamma, eps)
        return dx, dgamma * 1.1, dbeta

    with pytest.raises(AssertionError) as info:
        ch08.batchnorm_backward.check(noisy)
    assert "Likely cause: dx is right; look at dgamma" in str(info.value)


def test_cases_cover_at_least_five_shapes():
    for exercise in ch08.EXERCISES.values():
        a = exercise.cases()
        assert len(a) >= 5
        shapes = {c.args[1].shape for c in a} if exercise.name == "batchnorm_eval" else \
            {c.args[0].shape for c in a} | {c.args[1].shape for c in a}
        assert len(shapes) >= 5, exercise.name


def test_the_last_hint_sums_over_the_features(capsys):
    ch08.layernorm_backward.hint(3)
    assert "Σ_k g_nk" in capsys.readouterr().out


