"""Typical mistakes in chapter 5's graded exercises, each with the symptom its check must name.

Each symptom is the "Likely cause" the check derives by comparing the answer with what
the typical mistakes return (nnlab/exercises/ch05.py).
"""

from student_bugs import Bug


def _momentum(body: str) -> str:
    return "def sgd_momentum_step(w, grad, velocity, lr, momentum):\n" + body


def _adam(body: str) -> str:
    return "def adam_step(w, grad, m, v, t, lr, beta1, beta2, eps):\n" + body


_ADAM_MOMENTS = (
    "    m = beta1 * m + (1 - beta1) * grad\n"
    "    v = beta2 * v + (1 - beta2) * grad ** 2\n"
)


def _train(epoch_end: str = "", *, train_mode: str = "    model.train()\n",
           shuffle: str = "True", val_mode: str = "    model.eval()\n",
           stop: str = "waited >= patience", restore: str = "model.load_state_dict(best_state)\n"
           ) -> str:
    """The right training loop with one piece swapped for a typical mistake."""
    return (
        "import nnlab\n\n"
        "def train(model, loss_fn, optimizer, X, y, X_val, y_val, epochs, batch_size, patience, rng):\n"
        "    val_losses, best_loss, best_epoch, best_state, waited = [], np.inf, 0, None, 0\n"
        "    for epoch in range(epochs):\n"
        f"    {train_mode}"
        f"        for xb, yb in nnlab.data.batches(X, y, batch_size, shuffle={shuffle}, rng=rng):\n"
        "            optimizer.zero_grad()\n"
        "            loss_fn(model(xb), yb)\n"
        "            model.backward(loss_fn.backward())\n"
        "            optimizer.step()\n"
        f"    {val_mode}"
        "        val_losses.append(loss_fn(model(X_val), y_val))\n"
        "        if val_losses[-1] < best_loss:\n"
        "            best_loss, best_epoch, waited = val_losses[-1], epoch, 0\n"
        "            best_state = model.state_dict()\n"
        "        else:\n"
        "            waited += 1\n"
        f"        if {stop}:\n"
        "            break\n"
        f"    {restore}"
        "    return val_losses, best_epoch\n"
    )


BUGS: dict[str, list[Bug]] = {
    "sgd_momentum_step": [
        Bug("sign error",
            _momentum("    velocity = momentum * velocity + grad\n    return w + lr * velocity, velocity"),
            r"w_new \(item 0 of the result\) has the right shape \(3,\) but wrong values(.|\n)*"
            r"Likely cause: the step goes uphill"),
        Bug("learning rate inside the velocity (the other convention)",
            _momentum("    velocity = momentum * velocity + lr * grad\n    return w - velocity, velocity"),
            r"w_new \(item 0 of the result\) has the right shape(.|\n)*"
            r"Likely cause: the learning rate is inside the velocity"),
        Bug("velocity not updated (old buffer returned)",
            _momentum("    new = momentum * velocity + grad\n    return w - lr * new, velocity"),
            r"velocity_new \(item 1 of the result\) has the right shape(.|\n)*"
            r"Likely cause: the new velocity is not returned"),
        Bug("momentum applied to the weights instead of the velocity",
            _momentum("    velocity = momentum * w + grad\n    return w - lr * velocity, velocity"),
            r"Likely cause: momentum is applied to the weights instead of the velocity"),
        Bug("velocity ignored in the step",
            _momentum("    velocity = momentum * velocity + grad\n    return w - lr * grad, velocity"),
            r"w_new (.|\n)*Likely cause: the velocity is not used"),
    ],
    "adam_step": [
        Bug("no bias correction",
            _adam(_ADAM_MOMENTS + "    return w - lr * m / (np.sqrt(v) + eps), m, v"),
            r"w_new \(item 0 of the result\) has the right shape \(3,\) but wrong values(.|\n)*"
            r"Likely cause: no bias correction"),
        Bug("eps inside the square root",
            _adam("    t = t + 1\n" + _ADAM_MOMENTS
                  + "    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)\n"
                  "    return w - lr * m_hat / np.sqrt(v_hat + eps), m, v"),
            r"w_new (.|\n)*Likely cause: eps is inside the square root"),
        Bug("t starting at 0 (this step counted as t, not t + 1)",
            _adam(_ADAM_MOMENTS
                  + "    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)\n"
                  "    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v"),
            r"w_new \(item 0 of the result\) contains NaN or inf(.|\n)*"
            r"Likely cause: the bias correction uses t, the number of steps taken BEFORE"),
        Bug("bias-corrected moments stored as the state",
            _adam("    t = t + 1\n" + _ADAM_MOMENTS
                  + "    m, v = m / (1 - beta1 ** t), v / (1 - beta2 ** t)\n"
                  "    return w - lr * m / (np.sqrt(v) + eps), m, v"),
            r"m_new \(item 1 of the result\) has the right shape(.|\n)*"
            r"Likely cause: the bias-corrected moments are returned as the new state"),
    ],
    "train": [
        Bug("best weights not restored", _train(restore="pass\n"),
            r"W1 \(the first layer's weight after train\) \(item 2 of the result\) has the right "
            r"shape(.|\n)*Likely cause: the model keeps the weights of the last epoch"),
        Bug("patience off by one (> instead of >=)", _train(stop="waited > patience"),
            r"val_losses \(item 0 of the result\) has the wrong shape: expected \(7,\), "
            r"received \(8,\)(.|\n)*Likely cause: one epoch too many"),
        Bug("validation in train mode (Dropout on)", _train(val_mode="    pass\n"),
            r"val_losses \(item 0 of the result\) has the right shape \(7,\) but wrong values(.|\n)*"
            r"Likely cause: the validation loss is computed in train mode"),
        Bug("no shuffling", _train(shuffle="False"),
            r"val_losses \(item 0 of the result\) has the right shape \(7,\) but wrong values(.|\n)*"
            r"Likely cause: the batches are not shuffled"),
        Bug("returns no best epoch", _train(restore="return val_losses\n"),
            r"train raised TypeError: train should return the pair \(val_losses, best_epoch\)"),
    ],
    "nesterov_step": [
        Bug('plain momentum',
            "def nesterov_step(w, grad, velocity, lr, momentum):\n"
            "    u = momentum * velocity + grad\n"
            "    return w - lr * u, u",
            r"w_new \(item 0 of the result\)(.|\n)*Likely cause: this is plain momentum"),
        Bug('momentum times u alone',
            "def nesterov_step(w, grad, velocity, lr, momentum):\n"
            "    u = momentum * velocity + grad\n"
            "    return w - lr * momentum * u, u",
            r"Likely cause: the step is momentum u alone"),
        Bug('learning rate inside the velocity',
            "def nesterov_step(w, grad, velocity, lr, momentum):\n"
            "    u = momentum * velocity + lr * grad\n"
            "    return w - (lr * grad + momentum * u), u",
            r"Likely cause: the learning rate is inside the velocity"),
        Bug('old velocity returned',
            "def nesterov_step(w, grad, velocity, lr, momentum):\n"
            "    u = momentum * velocity + grad\n"
            "    return w - lr * (grad + momentum * u), velocity",
            r"velocity_new \(item 1 of the result\)(.|\n)*Likely cause: the new velocity is not returned"),
        Bug('uphill',
            "def nesterov_step(w, grad, velocity, lr, momentum):\n"
            "    u = momentum * velocity + grad\n"
            "    return w + lr * (grad + momentum * u), u",
            r"Likely cause: the step goes uphill"),
    ],
}
