"""The 2-2-1 network that chapter 1 runs forward and chapter 4 runs backward, by hand.

Every number below was worked out by hand (to 10 significant digits) and nnlab must
reproduce it. The network lives in ``nnlab.examples.tiny_network`` so the book uses it too.

    x = (1.0, 0.5), y = 1.0
    W1 = [[0.5, -0.3], [0.2, 0.8]], b1 = (0.1, -0.1), hidden h = sigmoid(W1 x + b1)
    W2 = [[0.7, -0.4]],             b2 = (0.05,),     output yhat = W2 h + b2
    L = (yhat - y)^2
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlab

# ---- forward (chapter 1) -------------------------------------------------------------
# z1 = W1 x + b1
#    = (0.5*1.0 + (-0.3)*0.5 + 0.1,  0.2*1.0 + 0.8*0.5 + (-0.1))
#    = (0.5 - 0.15 + 0.1,             0.2 + 0.4 - 0.1)
Z1 = [0.45, 0.5]
# h1 = sigmoid(z1) = 1 / (1 + e^-z1)
#    e^-0.45 = 0.6376281516,  1 / 1.6376281516 = 0.6106392339
#    e^-0.5  = 0.6065306597,  1 / 1.6065306597 = 0.6224593312
H1 = [0.6106392339, 0.6224593312]
# z2 = yhat = W2 h1 + b2 = 0.7*0.6106392339 - 0.4*0.6224593312 + 0.05
#           = 0.4274474638 - 0.2489837325 + 0.05
YHAT = 0.2284637313
# L = (yhat - y)^2 = (0.2284637313 - 1)^2 = (-0.7715362687)^2
LOSS = 0.5952682139

# ---- backward (chapter 4) ------------------------------------------------------------
# dL/dyhat = 2 (yhat - y) = 2 * (-0.7715362687)
DL_DYHAT = -1.543072537
# The output is linear, so delta2 = dL/dz2 = dL/dyhat.
DELTA2 = -1.543072537
# dL/dW2 = delta2 h1^T = (-1.543072537*0.6106392339, -1.543072537*0.6224593312)
DW2 = [[-0.9422606322, -0.9604998996]]
# dL/db2 = delta2
DB2 = [-1.543072537]
# delta1 = (W2^T delta2) * sigmoid'(z1), with sigmoid'(z) = h (1 - h)
#   W2^T delta2 = (0.7*(-1.543072537), -0.4*(-1.543072537)) = (-1.080150776, 0.6172290150)
#   h1 (1 - h1) = (0.6106392339*0.3893607661, 0.6224593312*0.3775406688)
#               = (0.2377589599, 0.2350037122)
#   delta1      = (-1.080150776*0.2377589599, 0.6172290150*0.2350037122)
DELTA1 = [-0.2568155251, 0.1450511098]
# dL/dW1 = delta1 x^T = [[delta1_1 * 1.0, delta1_1 * 0.5], [delta1_2 * 1.0, delta1_2 * 0.5]]
DW1 = [[-0.2568155251, -0.1284077625], [0.1450511098, 0.07252555490]]
# dL/db1 = delta1
DB1 = [-0.2568155251, 0.1450511098]

# 10 significant digits, so agreement to a relative 1e-9.
close = {"rel": 1e-9, "abs": 1e-12}


def build() -> tuple[nnlab.Linear, nnlab.Sigmoid, nnlab.Linear, np.ndarray, np.ndarray]:
    """The network, written out layer by layer as chapter 1 does."""
    layer1, act, layer2 = nnlab.Linear(2, 2), nnlab.Sigmoid(), nnlab.Linear(2, 1)
    layer1.weight.value = np.array([[0.5, -0.3], [0.2, 0.8]])
    layer1.bias.value = np.array([0.1, -0.1])
    layer2.weight.value = np.array([[0.7, -0.4]])
    layer2.bias.value = np.array([0.05])
    return layer1, act, layer2, np.array([[1.0, 0.5]]), np.array([[1.0]])


def test_forward_matches_the_hand_computation() -> None:
    layer1, act, layer2, x, y = build()
    z1 = layer1(x)
    h1 = act(z1)
    yhat = layer2(h1)
    loss = nnlab.MSELoss()(yhat, y)
    assert z1.ravel().tolist() == pytest.approx(Z1, **close)
    assert h1.ravel().tolist() == pytest.approx(H1, **close)
    assert yhat.item() == pytest.approx(YHAT, **close)
    assert loss == pytest.approx(LOSS, **close)


def test_backward_matches_the_hand_computation() -> None:
    layer1, act, layer2, x, y = build()
    criterion = nnlab.MSELoss()
    criterion(layer2(act(layer1(x))), y)

    dl_dyhat = criterion.backward()
    assert dl_dyhat.item() == pytest.approx(DL_DYHAT, **close)
    dl_dh1 = layer2.backward(dl_dyhat)  # the output is linear: delta2 = dL/dyhat
    assert dl_dyhat.item() == pytest.approx(DELTA2, **close)
    assert layer2.weight.grad.tolist()[0] == pytest.approx(DW2[0], **close)
    assert layer2.bias.grad.tolist() == pytest.approx(DB2, **close)
    delta1 = act.backward(dl_dh1)
    assert delta1.ravel().tolist() == pytest.approx(DELTA1, **close)
    layer1.backward(delta1)
    assert layer1.weight.grad.ravel().tolist() == pytest.approx(np.ravel(DW1).tolist(), **close)
    assert layer1.bias.grad.tolist() == pytest.approx(DB1, **close)


def test_the_book_example_is_the_same_network() -> None:
    from nnlab.examples import tiny_network

    net, x, y = tiny_network()
    assert [type(m).__name__ for m in net] == ["Linear", "Sigmoid", "Linear"]
    criterion = nnlab.MSELoss()
    assert criterion(net(x), y) == pytest.approx(LOSS, **close)
    net.backward(criterion.backward())
    grads = {name: p.grad for name, p in net.named_parameters()}
    assert grads["0.weight"].ravel().tolist() == pytest.approx(np.ravel(DW1).tolist(), **close)
    assert grads["0.bias"].tolist() == pytest.approx(DB1, **close)
    assert grads["2.weight"].ravel().tolist() == pytest.approx(DW2[0], **close)
    assert grads["2.bias"].tolist() == pytest.approx(DB2, **close)
