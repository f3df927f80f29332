"""Typical mistakes in chapter 10's graded exercises, each with the symptom its check must name.

The first case of l2_regularize has W of shape (3, 4) and lam 0.1; of dropout x of shape
(4, 3), p 0.25, in training mode (the fourth case, x (3, 6), is in eval mode); the first
case of early_stopping is a 30-epoch U-shaped validation curve with patience 5, the fifth
one has better epochs after the run has stopped, the third a tie for the best epoch.
"""

from student_bugs import Bug


def _l2(total: str = "loss + 0.5 * lam * np.sum(W ** 2)", grad_W: str = "dW + lam * W",
        grad_b: str = "db") -> str:
    return ("def l2_regularize(loss, W, b, dW, db, lam):\n"
            f"    return {total}, {grad_W}, {grad_b}\n")


def _dropout(keep: str = "u >= p", scale: str = "1.0 / (1.0 - p)", eval_mode: str = "return x, grad_out",
             backward: str = "grad_out * mask") -> str:
    return ("def dropout(x, grad_out, p, seed, training):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    if not training:\n"
            f"        {eval_mode}\n"
            "    u = rng.random(x.shape)\n"
            f"    mask = ({keep}) * {scale}\n"
            f"    return x * mask, {backward}\n")


def _early(better: str = "val_loss[e] < val_loss[best]", stop: str = "waited >= patience",
           ret: str = "best, e + 1", end: str = "best, len(val_loss)", curve: str = "val_loss") -> str:
    return ("def early_stopping(train_loss, val_loss, patience):\n"
            f"    curve = {curve}\n"
            "    best, waited = 0, 0\n"
            "    for e in range(1, len(curve)):\n"
            f"        if {better.replace('val_loss', 'curve')}:\n"
            "            best, waited = e, 0\n"
            "        else:\n"
            "            waited += 1\n"
            f"            if {stop}:\n"
            f"                return {ret}\n"
            f"    return {end}\n")


BUGS: dict[str, list[Bug]] = {
    "l2_regularize": [
        Bug("bias penalised too",
            _l2(total="loss + 0.5 * lam * (np.sum(W ** 2) + np.sum(b ** 2))", grad_b="db + lam * b"),
            r"total \(item 0 of the result\) has the right shape \(\) but wrong values(.|\n)*"
            r"on input loss=.*, W \(3, 4\)(.|\n)*Note: the bias is decayed too"),
        Bug("penalty lambda ||W||^2 with gradient lambda W (the 1/2 forgotten)",
            _l2(total="loss + lam * np.sum(W ** 2)"),
            r"total \(item 0(.|\n)*Note: the penalty is lambda \|\|W\|\|\^2; it should be \(lambda/2\)"),
        Bug("penalty (lambda/2) ||W||^2 with gradient 2 lambda W",
            _l2(grad_W="dW + 2 * lam * W"),
            r"dW_total \(item 1 of the result\) has the right shape \(3, 4\) but wrong values(.|\n)*"
            r"Note: the gradient does not match the penalty"),
        Bug("sign error in the gradient",
            _l2(grad_W="dW - lam * W"),
            r"dW_total \(item 1(.|\n)*Note: sign error"),
        Bug("gradient penalised, loss not",
            _l2(total="loss"),
            r"total \(item 0(.|\n)*Note: the gradient has its lambda W, but the loss is returned without"),
        Bug("penalty on the loss only",
            _l2(grad_W="dW"),
            r"dW_total \(item 1(.|\n)*Note: dW is returned unchanged"),
    ],
    "dropout": [
        Bug("no 1/(1-p) scaling",
            _dropout(scale="1.0"),
            r"y \(item 0 of the result\) has the right shape \(4, 3\) but wrong values(.|\n)*"
            r"p=0.25(.|\n)*Note: no 1/\(1-p\) scaling"),
        Bug("scaled by 1/p instead of 1/(1-p)",
            _dropout(scale="1.0 / p"),
            r"y \(item 0(.|\n)*Note: scaled by 1/p; p = 0.25 is the DROP probability"),
        Bug("mask applied in eval mode",
            _dropout(eval_mode="pass"),
            r"y \(item 0 of the result\) has the right shape \(3, 6\)(.|\n)*training=False(.|\n)*"
            r"Note: in eval mode \(training=False\) dropout is the identity"),
        Bug("a new mask drawn in backward",
            _dropout(backward="grad_out * (rng.random(x.shape) >= p) / (1.0 - p)"),
            r"grad_x \(item 1 of the result\) has the right shape \(4, 3\) but wrong values(.|\n)*"
            r"Note: the backward pass drew a new mask"),
        Bug("keep probability confused with drop probability",
            _dropout(keep="u < p"),
            r"y \(item 0(.|\n)*Note: units are KEPT with probability p"),
        Bug("backward without the scaling",
            _dropout(backward="grad_out * (mask > 0)"),
            r"grad_x \(item 1(.|\n)*Note: grad_x lacks the 1/\(1-p\)"),
    ],
    "l1_regularize": [
        Bug("L2's gradient",
            "def l1_regularize(loss, W, b, dW, db, lam):\n"
            "    return loss + lam * np.sum(np.abs(W)), dW + lam * W, db",
            r"dW_total \(item 1 of the result\)(.|\n)*Note: the gradient is L2's, lambda W"),
        Bug('bias penalised too',
            "def l1_regularize(loss, W, b, dW, db, lam):\n"
            "    return loss + lam * (np.abs(W).sum() + np.abs(b).sum()), dW + lam * np.sign(W), db + lam * np.sign(b)",
            r"Note: the bias is penalised too"),
        Bug('a factor 1/2',
            "def l1_regularize(loss, W, b, dW, db, lam):\n"
            "    return loss + 0.5 * lam * np.sum(np.abs(W)), dW + 0.5 * lam * np.sign(W), db",
            r"Note: a factor 1/2 crept in"),
        Bug('penalty missing from the loss',
            "def l1_regularize(loss, W, b, dW, db, lam):\n"
            "    return loss, dW + lam * np.sign(W), db",
            r"total \(item 0 of the result\)(.|\n)*Note: the gradient has its lambda sign\(W\), but the loss"),
        Bug('+lambda at zero',
            "def l1_regularize(loss, W, b, dW, db, lam):\n"
            "    return loss + lam * np.sum(np.abs(W)), dW + lam * np.where(W >= 0, 1.0, -1.0), db",
            r"Note: at w = 0 your subgradient is \+lambda"),
        Bug('sign error',
            "def l1_regularize(loss, W, b, dW, db, lam):\n"
            "    return loss + lam * np.sum(np.abs(W)), dW - lam * np.sign(W), db",
            r"Note: sign error"),
    ],
}
