"""Chapter 6's graded exercises: the rules are the chapter's, the notes name the bug they
explain and nothing else. (Reference solutions, agreement of the references, the bug
catalogue and isolated grading: tests/test_exercises.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_support import reference_solutions

from nnlab.exercises import ch06
from nnlab.explore.ch06 import diagnose

SOLUTIONS = reference_solutions("ch06")


def test_the_exercise_rules_are_the_chapter_rules():
    # The verdicts the exercise demands are those the lesson and the explorer use, and
    # the cases cover every verdict.
    verdicts = set()
    for case in ch06.diagnose_gradients.cases():
        (norms,) = case.args
        assert ch06._diag_rules(norms) == diagnose(norms)
        verdicts.add(diagnose(norms)[1])
    assert verdicts == {"vanishing", "exploding", "healthy"}


def test_the_sigmoid_bound_holds_on_every_case():
    # ||J||_2 <= prod ||W_l||_2 / 4 (the bound of section 6.2), on the exercise's own inputs.
    for case in ch06.sigmoid_jacobian.cases():
        J, bound = ch06._jac_reference(*case.args)
        assert np.linalg.norm(J, 2) <= bound * (1 + 1e-12)


def test_a_note_is_added_only_when_it_explains_the_error():
    def shifted(X, y, weights, biases):
        return SOLUTIONS["layer_gradient_norms"](X, y, weights, biases) + 1.0

    with pytest.raises(AssertionError) as info:
        ch06.layer_gradient_norms.check(shifted)
    assert "Note:" not in str(info.value)

    def wrong_word(norms):
        ratio, _ = SOLUTIONS["diagnose_gradients"](norms)
        return ratio, "fine"

    with pytest.raises(AssertionError, match=r"expected 'vanishing', received 'fine'") as info:
        ch06.diagnose_gradients.check(wrong_word)
    assert "Note:" not in str(info.value)


def test_a_function_that_returns_the_wrong_kind_of_thing_is_told_so():
    with pytest.raises(AssertionError, match=r"should be a tuple \(ratio, verdict\); received str"):
        ch06.diagnose_gradients.check(lambda norms: "vanishing")
    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError"):
        ch06.diagnose_gradients.check(lambda norms: 1 / 0)


def test_lists_of_weights_are_described_by_their_shapes():
    # Never printed whole.
    described = ch06.layer_gradient_norms.cases()[0].describe()
    assert described == "X (6, 4), y (6,), weights [(5, 4), (3, 5)], biases [(5,), (3,)]"


def test_the_last_hint_names_the_spectral_norm(capsys):
    ch06.sigmoid_jacobian.hint(3)
    assert "spectral norm (the largest singular value)" in capsys.readouterr().out


