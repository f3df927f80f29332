"""Tests for nnlab.optim: torch.optim parity step for step, in-place updates, validation."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import optim
from nnlab.module import Parameter

SHAPES = [(4, 3), (4,), (2, 5)]
STEPS = 25

# (nnlab class, nnlab kwargs, torch.optim class name, torch kwargs)
SETTINGS = {
    "sgd": (optim.SGD, {"lr": 0.1}, "SGD", {"lr": 0.1}),
    "sgd-momentum": (
        optim.SGD,
        {"lr": 0.05, "momentum": 0.9},
        "SGD",
        {"lr": 0.05, "momentum": 0.9},
    ),
    "sgd-nesterov": (
        optim.SGD,
        {"lr": 0.05, "momentum": 0.8, "nesterov": True},
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    ),
    "sgd-weight-decay": (
        optim.SGD,
        {"lr": 0.05, "weight_decay": 0.1},
        "SGD",
        {"lr": 0.05, "weight_decay": 0.1},
    ),
    "sgd-all": (
        optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ),
    "rmsprop": (optim.RMSprop, {"lr": 0.01}, "RMSprop", {"lr": 0.01}),
    "rmsprop-momentum": (
        optim.RMSprop,
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.9},
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.9},
    ),
    "rmsprop-weight-decay": (
        optim.RMSprop,
        {"lr": 0.01, "weight_decay": 0.1},
        "RMSprop",
        {"lr": 0.01, "weight_decay": 0.1},
    ),
    "adam": (optim.Adam, {"lr": 0.01}, "Adam", {"lr": 0.01}),
    "adam-l2": (
        optim.Adam,
        {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1},
        "Adam",
        {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1},
    ),
    "adamw": (
        optim.Adam,
        {"lr": 0.01, "weight_decay": 0.1, "decoupled": True},
        "AdamW",
        {"lr": 0.01, "weight_decay": 0.1},
    ),
}


def _gradient(value: np.ndarray, curvature: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The gradient of 0.5 * sum(h p^2) plus a fixed noise term (a noisy quadratic).

    It depends on the current parameters, so any difference in one step changes every
    later gradient too: a wrong update rule cannot agree by accident.
    """
    return curvature * value + noise


def _run_both(torch, setting: str, dtype: np.dtype, rng: np.random.Generator):
    cls, kwargs, torch_name, torch_kwargs = SETTINGS[setting]
    initial = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    curvature = [rng.uniform(0.5, 2.0, size=s).astype(dtype) for s in SHAPES]
    noise = [[rng.normal(size=s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]

    params = [Parameter(v.copy()) for v in initial]
    tensors = [torch.tensor(v.copy(), requires_grad=True) for v in initial]
    ours = cls(params, **kwargs)
    theirs = getattr(torch.optim, torch_name)(tensors, **torch_kwargs)
    for t in range(STEPS):
        ours.zero_grad()
        theirs.zero_grad()
        for i, (p, q) in enumerate(zip(params, tensors)):
            p.grad += _gradient(p.value, curvature[i], noise[t][i])
            q.grad = torch.from_numpy(_gradient(q.detach().numpy(), curvature[i], noise[t][i]))
        ours.step()
        theirs.step()
    for p, v in zip(params, initial):
        assert not np.allclose(p.value, v)  # the trajectory went somewhere
    return params, tensors


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_matches_torch_optim_float64(torch, setting, rng):
    params, tensors = _run_both(torch, setting, np.dtype(np.float64), rng)
    for p, q in zip(params, tensors):
        np.testing.assert_allclose(p.value, q.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("setting", ["sgd-all", "rmsprop-momentum", "adam-l2", "adamw"])
def test_matches_torch_optim_float32(torch, setting, rng):
    params, tensors = _run_both(torch, setting, np.dtype(np.float32), rng)
    for p, q in zip(params, tensors):
        assert p.value.dtype == np.float32
        np.testing.assert_allclose(p.value, q.detach().numpy(), rtol=1e-5, atol=1e-5)


def _make(cls, kwargs, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    params = [Parameter(rng.normal(size=s).astype(dtype)) for s in SHAPES]
    return params, cls(params, **kwargs)


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_step_updates_in_place_and_leaves_grad_alone(setting):
    cls, kwargs, _, _ = SETTINGS[setting]
    params, opt = _make(cls, kwargs)
    arrays = [p.value for p in params]
    before = [p.value.copy() for p in params]
    for p in params:
        p.grad += 1.0
    grads = [p.grad for p in params]
    opt.step()
    for p, a, b, g in zip(params, arrays, before, grads):
        assert p.value is a  # the model holds this very array
        assert not np.allclose(p.value, b)
        assert p.grad is g
        np.testing.assert_array_equal(p.grad, 1.0)  # weight decay must not leak into p.grad


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_float32_stays_float32(setting):
    cls, kwargs, _, _ = SETTINGS[setting]
    params, opt = _make(cls, kwargs, dtype=np.float32)
    for _ in range(3):
        for p in params:
            p.grad += np.float32(0.5)
        opt.step()
    for p in params:
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32
    for buffers in opt.state_dict()["buffers"].values():
        assert all(b.dtype == np.float32 for b in buffers)


def test_zero_grad_clears_every_gradient_in_place():
    params, opt = _make(optim.SGD, {"lr": 0.1})
    grads = [p.grad for p in params]
    for p in params:
        p.grad += 3.0
    opt.zero_grad()
    for p, g in zip(params, grads):
        assert p.grad is g
        np.testing.assert_array_equal(p.grad, 0.0)


def test_accepts_model_parameters_generator():
    from nnlab.layers import Linear

    layer = Linear(3, 2, rng=0)
    opt = optim.SGD((p for p in layer.parameters()), lr=0.1)
    assert opt.params == [layer.weight, layer.bias]


def test_plain_sgd_step_by_hand():
    p = Parameter(np.array([1.0, -2.0]))
    p.grad[:] = [0.5, 1.0]
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.value, [0.95, -2.1])


def test_adam_first_step_moves_each_weight_by_lr():
    # With bias correction, m_hat = g and v_hat = g^2 at t = 1, so the step is lr * sign(g).
    p = Parameter(np.array([1.0, -2.0, 3.0]))
    p.grad[:] = [1e-3, -5.0, 200.0]
    optim.Adam([p], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(p.value, [0.9, -1.9, 2.9], rtol=1e-12)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        (optim.SGD, {"lr": 0.1}),
        (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
        (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
        (optim.RMSprop, {"lr": 0.01}),
        (optim.RMSprop, {"lr": 0.01, "momentum": 0.5}),
        (optim.Adam, {"lr": 0.05}),
        (optim.Adam, {"lr": 0.05, "weight_decay": 1e-4, "decoupled": True}),
    ],
)
def test_minimises_a_quadratic(cls, kwargs):
    # f(p) = 0.5 sum h (p - c)^2 with minimiser c and condition number 10.
    rng = np.random.default_rng(1)
    h = np.linspace(1.0, 10.0, 6)
    c = rng.normal(size=6)
    p = Parameter(np.zeros(6))
    opt = cls([p], **kwargs)
    start = 0.5 * np.sum(h * c**2)
    for _ in range(500):
        opt.zero_grad()
        p.grad += h * (p.value - c)
        opt.step()
    final = 0.5 * np.sum(h * (p.value - c) ** 2)
    assert final < 1e-3 * start
    np.testing.assert_allclose(p.value, c, atol=0.05)


@pytest.mark.parametrize("setting", ["sgd-momentum", "rmsprop-momentum", "adam"])
def test_state_dict_round_trip_resumes_identically(setting):
    cls, kwargs, _, _ = SETTINGS[setting]

    def feed(params, opt, t):
        for i, p in enumerate(params):
            p.grad[...] = np.sin(p.value + t + i)
        opt.step()

    params, opt = _make(cls, kwargs)
    for t in range(5):
        feed(params, opt, t)
    saved_values = [p.value.copy() for p in params]
    state = opt.state_dict()
    for t in range(5, 10):
        feed(params, opt, t)

    params2, opt2 = _make(cls, kwargs, seed=99)
    for p, v in zip(params2, saved_values):
        p.value[...] = v
    opt2.load_state_dict(state)
    for t in range(5, 10):
        feed(params2, opt2, t)
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(p.value, q.value)
    assert opt2.step_count == 10


def test_state_dict_is_a_copy():
    params, opt = _make(optim.Adam, {"lr": 0.1})
    for p in params:
        p.grad += 1.0
    opt.step()
    state = opt.state_dict()
    state["buffers"]["exp_avg"][0] += 100.0
    assert not np.allclose(opt.exp_avg[0], state["buffers"]["exp_avg"][0])


def test_load_state_dict_rejects_wrong_shapes():
    _, opt = _make(optim.Adam, {"lr": 0.1})
    state = opt.state_dict()
    state["buffers"]["exp_avg"][0] = np.zeros((7, 7))
    with pytest.raises(ValueError, match=r"exp_avg\[0\] expected shape \(4, 3\); got \(7, 7\)"):
        opt.load_state_dict(state)


# --- validation ---------------------------------------------------------------------------


def _param():
    return [Parameter(np.zeros(3))]


def test_negative_lr_is_rejected():
    with pytest.raises(ValueError, match=r"SGD: lr must be in \[0.0, inf\]; got -0.1"):
        optim.SGD(_param(), lr=-0.1)


def test_beta1_of_one_is_rejected():
    with pytest.raises(ValueError, match=r"betas\[0\] must be in \[0.0, 1.0\); got 1.0"):
        optim.Adam(_param(), betas=(1.0, 0.999))


def test_negative_beta2_is_rejected():
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0.0, 1.0\); got -0.1"):
        optim.Adam(_param(), betas=(0.9, -0.1))


def test_betas_must_be_a_pair():
    with pytest.raises(TypeError, match="betas must be a pair"):
        optim.Adam(_param(), betas=0.9)


@pytest.mark.parametrize("cls", [optim.Adam, optim.RMSprop])
def test_negative_eps_is_rejected(cls):
    with pytest.raises(ValueError, match=r"eps must be in \[0.0, inf\]; got -1e-08"):
        cls(_param(), lr=0.01, eps=-1e-8)


@pytest.mark.parametrize("cls", [optim.SGD, optim.RMSprop])
def test_negative_momentum_is_rejected(cls):
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, inf\]; got -0.5"):
        cls(_param(), lr=0.01, momentum=-0.5)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_negative_weight_decay_is_rejected(cls):
    with pytest.raises(ValueError, match=r"weight_decay must be in \[0.0, inf\]; got -0.01"):
        cls(_param(), lr=0.01, weight_decay=-0.01)


@pytest.mark.parametrize("alpha", [-0.1, 1.5])
def test_rmsprop_alpha_outside_unit_interval_is_rejected(alpha):
    with pytest.raises(ValueError, match=rf"alpha must be in \[0.0, 1.0\]; got {alpha}"):
        optim.RMSprop(_param(), alpha=alpha)


def test_nesterov_without_momentum_is_rejected():
    with pytest.raises(ValueError, match=r"nesterov=True requires momentum > 0; got momentum=0.0"):
        optim.SGD(_param(), lr=0.1, nesterov=True)


def test_empty_parameter_list_is_rejected():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])


def test_non_parameter_is_rejected():
    with pytest.raises(TypeError, match="element 1 is ndarray"):
        optim.SGD([Parameter(np.zeros(2)), np.zeros(2)], lr=0.1)


def test_single_parameter_is_rejected_with_a_fix():
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(Parameter(np.zeros(2)), lr=0.1)


def test_duplicate_parameters_are_rejected():
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)


def test_lr_as_string_is_a_type_error():
    with pytest.raises(TypeError, match=r"lr must be a real number; got '0.1' \(str\)"):
        optim.SGD(_param(), lr="0.1")


def test_repr_shows_hyperparameters():
    assert repr(optim.SGD(_param(), lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)"
    )


# --- learning-rate schedulers --------------------------------------------------------------

SCHEDULE_STEPS = 30

# name -> a function (optimizer, scheduler module) -> scheduler, used with nnlab.optim and
# torch.optim.lr_scheduler alike: the same names and arguments.
SCHEDULES = {
    "step": lambda o, m: m.StepLR(o, step_size=7, gamma=0.5),
    "step-default-gamma": lambda o, m: m.StepLR(o, step_size=3),
    "cosine": lambda o, m: m.CosineAnnealingLR(o, T_max=30),
    # T_max shorter than the run: past T_max the rate climbs back along the cosine.
    "cosine-periodic": lambda o, m: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "linear-warmup": lambda o, m: m.LinearLR(o, start_factor=0.1, total_iters=8),
    "linear-defaults": lambda o, m: m.LinearLR(o),
    "linear-decay": lambda o, m: m.LinearLR(o, start_factor=1.0, end_factor=0.25, total_iters=12),
    "warmup-cosine": lambda o, m: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=25)],
        milestones=[5]),
    "three-phases": lambda o, m: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=3), m.StepLR(o, step_size=4, gamma=0.5),
            m.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], milestones=[3, 12]),
}


def _lr_sequences(torch, name, lr=0.1, steps=SCHEDULE_STEPS, poke=None):
    """The rate of every epoch under nnlab's and torch's scheduler, stepped as in a loop.

    ``poke``: an epoch after which both optimizers' rates are halved by hand (a schedule
    computed from the current rate must follow it).
    """
    ours_opt = optim.SGD([Parameter(np.zeros(2))], lr=lr)
    theirs_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr)
    ours = SCHEDULES[name](ours_opt, optim)
    theirs = SCHEDULES[name](theirs_opt, torch.optim.lr_scheduler)
    a, b = [ours_opt.lr], [theirs_opt.param_groups[0]["lr"]]
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    for epoch in range(steps):
        ours_opt.step()  # the optimizer steps first, then the scheduler (PyTorch's order)
        theirs_opt.step()
        ours.step()
        theirs.step()
        if epoch == poke:
            ours_opt.lr /= 2
            theirs_opt.param_groups[0]["lr"] /= 2
        a.append(ours_opt.lr)
        b.append(theirs_opt.param_groups[0]["lr"])
        assert ours.last_epoch == theirs.last_epoch
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    return np.array(a), np.array(b)


@pytest.mark.torch
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedulers_match_torch_step_for_step(torch, name):
    ours, theirs = _lr_sequences(torch, name)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len(set(np.round(ours, 12))) > 2  # the schedule did change the rate


@pytest.mark.torch
@pytest.mark.parametrize("name", ["step", "cosine-periodic", "linear-warmup", "warmup-cosine"])
def test_schedulers_follow_a_rate_changed_by_hand_as_torch_does(torch, name):
    # Both compute the next rate from the current one (the "chainable" form), so halving
    # the rate mid-run shifts the rest of the schedule in both.
    ours, theirs = _lr_sequences(torch, name, poke=10)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("T_max, eta_min", [(30, 0.0), (7, 0.01), (1, 0.0), (4, 0.05)])
def test_cosine_recursive_form_equals_the_closed_form(T_max, eta_min):
    # Three full periods, through the bottoms where the recursive ratio would divide by 0.
    opt = optim.SGD(_param(), lr=0.1)
    scheduler = optim.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    for e in range(1, 6 * T_max + 1):
        scheduler.step()
        closed = eta_min + (0.1 - eta_min) * (1 + np.cos(np.pi * e / T_max)) / 2
        assert opt.lr == pytest.approx(closed, rel=1e-12, abs=1e-15), e
        assert scheduler._closed_form_lr() == pytest.approx(closed, rel=1e-15, abs=1e-17)


def test_step_and_linear_closed_forms_by_hand():
    opt = optim.SGD(_param(), lr=1.0)
    step = optim.StepLR(opt, step_size=2, gamma=0.1)
    rates = [opt.lr]
    for _ in range(5):
        step.step()
        rates.append(opt.lr)
    np.testing.assert_allclose(rates, [1, 1, 0.1, 0.1, 0.01, 0.01], rtol=1e-12)
    opt = optim.SGD(_param(), lr=1.0)
    warm = optim.LinearLR(opt, start_factor=0.25, total_iters=3)
    rates = [opt.lr]
    for _ in range(5):
        warm.step()
        rates.append(opt.lr)
    np.testing.assert_allclose(rates, [0.25, 0.5, 0.75, 1, 1, 1], rtol=1e-12)
    assert warm.get_last_lr() == [pytest.approx(1.0)]


def test_first_scheduler_records_the_initial_lr_and_later_ones_share_it():
    opt = optim.Adam(_param(), lr=0.01)
    assert opt.initial_lr is None
    warm = optim.LinearLR(opt, start_factor=0.5, total_iters=2)
    assert opt.initial_lr == 0.01 and opt.lr == pytest.approx(0.005)
    cosine = optim.CosineAnnealingLR(opt, T_max=10)
    assert cosine.base_lr == warm.base_lr == 0.01


def test_scheduler_state_dict_round_trip_resumes_identically():
    def build():
        opt = optim.SGD(_param(), lr=0.1)
        warm = optim.LinearLR(opt, start_factor=0.1, total_iters=4)
        return opt, optim.SequentialLR(opt, [warm, optim.CosineAnnealingLR(opt, T_max=10)], [4])

    opt, scheduler = build()
    for _ in range(6):
        scheduler.step()
    saved_opt, saved = opt.state_dict(), scheduler.state_dict()
    rest = []
    for _ in range(8):
        scheduler.step()
        rest.append(opt.lr)
    opt2, scheduler2 = build()
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved)
    assert scheduler2.last_epoch == 6 and opt2.lr == saved_opt["hyperparameters"]["lr"]
    rest2 = []
    for _ in range(8):
        scheduler2.step()
        rest2.append(opt2.lr)
    assert rest2 == rest


def test_scheduler_load_state_dict_rejects_unknown_keys():
    scheduler = optim.StepLR(optim.SGD(_param(), lr=0.1), step_size=2)
    with pytest.raises(ValueError, match=r"unexpected keys \['T_max'\]"):
        scheduler.load_state_dict({**scheduler.state_dict(), "T_max": 3})


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda o: optim.StepLR(o, step_size=0), ValueError, "StepLR: step_size must be >= 1; got 0"),
        (lambda o: optim.StepLR(o, step_size=2.5), TypeError, "StepLR: step_size must be an int"),
        (lambda o: optim.StepLR(o, 2, gamma=-0.1), ValueError, r"StepLR: gamma must be in \[0.0, inf\]"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=0), ValueError, "T_max must be >= 1; got 0"),
        (lambda o: optim.CosineAnnealingLR(o, 10, eta_min=-1.0), ValueError, "eta_min must be in"),
        (lambda o: optim.LinearLR(o, start_factor=0.0), ValueError,
         r"start_factor must be in \(0.0, 1.0\]; got 0.0"),
        (lambda o: optim.LinearLR(o, start_factor=1.5), ValueError, "start_factor must be in"),
        (lambda o: optim.LinearLR(o, end_factor=1.5), ValueError, r"end_factor must be in \[0.0, 1.0\]"),
        (lambda o: optim.LinearLR(o, total_iters=0), ValueError, "total_iters must be >= 1"),
        (lambda o: optim.SequentialLR(o, [], []), ValueError, "at least one scheduler"),
        (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2), optim.StepLR(o, 3)], []), ValueError,
         r"expected 1 milestone\(s\) \(one fewer than the 2 schedulers\); got 0"),
        (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2), optim.StepLR(o, 3)], [0]), ValueError,
         r"milestones\[0\] must be >= 1"),
        (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2)] * 3, [5, 3]), ValueError,
         "increasing milestones"),
        (lambda o: optim.SequentialLR(o, [optim.StepLR(optim.SGD(_param(), lr=1.0), 2)], []),
         ValueError, "on the same optimizer"),
        (lambda o: optim.SequentialLR(o, ["cosine"], []), TypeError, r"schedulers\[0\] is str"),
        (lambda o: optim.StepLR("sgd", 2), TypeError, "expected an nnlab optimizer.*got str"),
    ],
)
def test_scheduler_arguments_are_validated(build, error, match):
    with pytest.raises(error, match=match):
        build(optim.SGD(_param(), lr=0.1))


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{"start_factor": 0.0}, {"start_factor": 1.5}, {"end_factor": 1.5}])
def test_linear_lr_rejects_what_torch_rejects(torch, kwargs):
    with pytest.raises(ValueError):
        torch.optim.lr_scheduler.LinearLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)]), **kwargs)
    with pytest.raises(ValueError):
        optim.LinearLR(optim.SGD(_param(), lr=0.1), **kwargs)
