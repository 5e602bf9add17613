"""The correctness matrix of issue 21: every edit-based method x every shipped model (and toys
with a residual block, an LSTM, attention and no plan) x ``method="auto" | "fast" | "naive"``.

Each cell compares the method's numbers with plain forward passes of the edited sequences,
built here by hand (one-hot substitutions and insertions written in this file, never with the
library's editing helpers) and run as ``model(edited)`` under ``torch.no_grad`` in eval mode.
The contract: ``"naive"`` runs plain passes, ``"fast"`` the fast incremental path or a
ValueError naming the model (a model without a local plan: attention, LSTM-only, a plain
module), ``"auto"`` the cheapest exact path; whatever the path, the numbers agree with plain
passes within ``1e-4 * (1 + max |output|)`` (float32).

Sizes are small so the file stays inside the suite's time budget: toys take ``L = 80``, zoo
models their card's length, 1-3 sequences or backgrounds. BPNet (2,114 bp, about 12 ms per
forward pass on 2 CPU cores) runs only the cheap cells (a handful of edits, 2 backgrounds);
the methods that predict a whole ISM map (``saturation_mutagenesis``, ``pairwise_ism``,
``dfim``, ``maximize_activation``) skip it (see :data:`HEAVY`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from tests.helpers import random_one_hot
from tests.models import NoPlanCNN, ResidualCNN, TinyRNN, ToyAttention
from xai_widgets import methods, zoo
from xai_widgets.data import variants_from_edits

PATHS = ("auto", "fast", "naive")
TOYS = {"toy_residual": ResidualCNN, "toy_lstm": TinyRNN, "toy_attention": ToyAttention, "toy_no_plan": NoPlanCNN}
SHIPPED = zoo.list_models(origin="all")  # the ten trained zoo models, DeepSTARR and BPNet
MODELS = (*SHIPPED, *TOYS)
HEAVY = {"bpnet_ctcf"}
"""Models left out of the methods that predict every substitution of a sequence (6,342 edits
of a 2,114-bp sequence: minutes of plain passes on 2 cores)."""

TOY_LENGTH = 80
ALPHABET = "ACGT"
CTCF, AP1, SP1 = "CCACCAGGGGGCGC", "TGACTCA", "GGGGCGGGG"


# ---------------------------------------------------------------------------------------------
# models and the oracle


@dataclass
class Case:
    name: str
    model: nn.Module
    length: int
    target: int | str
    fast: bool  # the model has a local plan, so method="fast" must run the fast path
    n: int  # sequences per call of a method that predicts a few edits (2; BPNet 1)
    n_map: int  # sequences per call of a method that predicts whole ISM maps (toys 2, shipped models 1)

    def X(self, n: int | None = None, seed: int = 0) -> torch.Tensor:
        return random_one_hot(n or self.n, self.length, seed)


def _case(name: str) -> Case:
    if name in TOYS:
        model = TOYS[name]().eval()
        length = TOY_LENGTH
    else:
        model = zoo.load(name, device="cpu")
        length = model.card["task"]["length"]
    with torch.no_grad():
        n_outputs = model(random_one_hot(1, length)).shape[1]
    target = {"bpnet_ctcf": "counts", "deepstarr": "hk"}.get(name, 1 if n_outputs > 1 else 0)
    fast = hasattr(model, "local_plan") or type(model) is nn.Sequential
    return Case(name, model, length, target, fast, 1 if name in HEAVY else 2, 2 if name in TOYS else 1)


@pytest.fixture(scope="module")
def cases():
    loaded = {}

    def get(name: str) -> Case:
        if name not in loaded:
            loaded[name] = _case(name)
        return loaded[name]

    return get


@pytest.fixture(scope="module")
def oracle_cache():
    return {}


@torch.no_grad()
def forward(model: nn.Module, X: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """Plain forward passes ``(N, T)``, in eval mode."""
    model.eval()
    return torch.cat([model(X[i : i + batch]) for i in range(0, len(X), batch)]).float()


def tolerance(*outputs: torch.Tensor) -> float:
    """``1e-4 * (1 + max |output|)`` over the plain-pass outputs a comparison involves."""
    scale = max(float(o[torch.isfinite(o)].abs().max()) if torch.isfinite(o).any() else 0.0 for o in outputs)
    return 1e-4 * (1 + scale)


def assert_agrees(got, expected, tol: float, what: str) -> None:
    got = torch.as_tensor(np.asarray(got, dtype=np.float32)) if not isinstance(got, torch.Tensor) else got.float()
    expected = expected.float()
    assert got.shape == expected.shape, f"{what}: shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    nan = torch.isnan(expected)
    assert torch.equal(torch.isnan(got), nan), f"{what}: NaN where the oracle has none, or the reverse"
    diff = float((got[~nan] - expected[~nan]).abs().max()) if (~nan).any() else 0.0
    assert diff <= tol, f"{what}: max |difference| {diff:.3g} to plain forward passes > tolerance {tol:.3g}"


def substituted(x: torch.Tensor, changes) -> torch.Tensor:
    """A copy of ``x (4, L)`` with ``base`` written at ``position`` for each ``(position, base)``."""
    y = x.clone()
    for position, base in changes:
        y[:, position] = 0
        y[base, position] = 1
    return y


def encode(sequence: str) -> torch.Tensor:
    out = torch.zeros(4, len(sequence))
    out[[ALPHABET.index(c) for c in sequence], torch.arange(len(sequence))] = 1
    return out


def reverse_complement(sequence: str) -> str:
    return sequence[::-1].translate(str.maketrans("ACGT", "TGCA"))


def inserted(X: torch.Tensor, insertions) -> torch.Tensor:
    """``X (N, 4, L)`` with each ``(motif string, start, strand)`` written in, every sequence alike."""
    Y = X.clone()
    for motif, start, strand in insertions:
        Y[:, :, start : start + len(motif)] = encode(motif if strand == "+" else reverse_complement(motif))
    return Y


def ism_oracle(model: nn.Module, X: torch.Tensor, positions=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every substitution at ``positions`` (all when None) by plain passes: ``delta (N, T, 4, L)``
    (0 at the observed base and elsewhere) and the unedited outputs ``(N, T)``."""
    n, _, length = X.shape
    positions = range(length) if positions is None else positions
    reference = forward(model, X)
    delta = torch.zeros(n, reference.shape[1], 4, length)
    for i in range(n):
        edits = [(p, b) for p in positions for b in range(4) if X[i, b, p] != 1]
        out = forward(model, torch.stack([substituted(X[i], [e]) for e in edits]))
        for (p, b), row in zip(edits, out):
            delta[i, :, b, p] = row - reference[i]
    return delta, reference


def ism_scale(delta: torch.Tensor, reference: torch.Tensor) -> float:
    """The tolerance of an ISM comparison: edited outputs are ``reference + delta``."""
    edited = delta + reference[:, :, None, None]
    return tolerance(reference, edited)


def cached_ism(cache: dict, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`ism_oracle` of ``case.X(case.n_map)``, computed once per model (the paths share it)."""
    if case.name not in cache:
        cache[case.name] = ism_oracle(case.model, case.X(case.n_map))
    return cache[case.name]


def call(case: Case, path: str, function, *args, **kwargs):
    """``function(case.model, *args, method=path, device="cpu", **kwargs)``; for ``"fast"`` on a
    model without a local plan, checks the ValueError (it must name the model) and returns None."""
    if path == "fast" and not case.fast:
        with pytest.raises(ValueError) as info:
            function(case.model, *args, method=path, device="cpu", **kwargs)
        message = str(info.value)
        assert type(case.model).__name__ in message and "fast" in message.lower(), message
        return None
    return function(case.model, *args, method=path, device="cpu", **kwargs)


def check_path(result, case: Case, path: str) -> None:
    """``result.path`` (where the result has one) is the path asked for; "auto" without a plan is plain."""
    if not hasattr(result, "path"):
        return
    if path == "auto":
        assert result.path == "naive" if not case.fast else result.path in ("fast", "naive"), result.path
    else:
        assert result.path == path, f"asked for method={path!r}, ran {result.path!r}"


def cells(models=MODELS, skip=()):
    return [pytest.param(name, path, id=f"{name}-{path}") for name in models if name not in skip for path in PATHS]


def test_the_matrix_covers_every_shipped_model():
    assert len(zoo.list_models(origin="trained")) == 10
    assert {"deepstarr", "bpnet_ctcf"} <= set(SHIPPED) and set(zoo.list_models(origin="all")) <= set(MODELS)


# ---------------------------------------------------------------------------------------------
# single-base edits: ISM, mutagenesis_at, predict_edits, variants and their null


@pytest.mark.parametrize("name, path", cells(skip=HEAVY))
def test_saturation_mutagenesis(cases, oracle_cache, name, path):
    case = cases(name)
    X = case.X(case.n_map)
    result = call(case, path, methods.saturation_mutagenesis, X, target="all")
    if result is None:
        return
    delta, reference = cached_ism(oracle_cache, case)
    tol = ism_scale(delta, reference)
    assert_agrees(result.delta, delta, tol, "delta")
    assert_agrees(result.prediction, reference, tol, "prediction")
    check_path(result, case, path)


@pytest.mark.parametrize("name, path", cells())
def test_mutagenesis_at(cases, name, path):
    case = cases(name)
    X, length = case.X(), case.length
    positions = [0, length // 2, length - 1] if name in HEAVY else [0, 1, length // 2, length - 2, length - 1]
    result = call(case, path, methods.mutagenesis_at, X, positions=positions, target=case.target)
    if result is None:
        return
    delta, reference = ism_oracle(case.model, X, positions)
    t = methods.check_target(case.target, reference.shape[1], model=case.model)  # a name -> its index
    assert_agrees(result.delta, delta[:, t], ism_scale(delta, reference), "delta")
    check_path(result, case, path)


@pytest.mark.parametrize("name, path", cells())
def test_predict_edits(cases, name, path):
    case = cases(name)
    X, length = case.X(), case.length
    last = len(X) - 1

    def other(i, p, k):  # the k-th base after the observed one (k = 1, 2, 3)
        return (int(X[i, :, p].argmax()) + k) % 4

    edits = [(0, 0, ALPHABET[other(0, 0, 1)]), (last, length - 1, other(last, length - 1, 2)),
             (last, length // 2, ALPHABET[other(last, length // 2, 3)]), (0, length // 2, other(0, length // 2, 1)),
             (0, 5, ALPHABET[other(0, 5, 2)].lower())]
    result = call(case, path, methods.predict_edits, X, edits=edits, target="all")
    if result is None:
        return
    bases = [b if isinstance(b, int) else ALPHABET.index(b.upper()) for _, _, b in edits]
    reference = forward(case.model, X)
    edited = forward(case.model, torch.stack([substituted(X[i], [(p, b)]) for (i, p, _), b in zip(edits, bases)]))
    expected = edited - reference[[i for i, _, _ in edits]]
    assert_agrees(result, expected, tolerance(reference, edited), "delta")


@pytest.mark.parametrize("name, path", cells())
def test_score_variants(cases, name, path):
    case = cases(name)
    X, length = case.X(), case.length
    last = len(X) - 1
    spots = [(0, 0), (last, length - 1), (last, length // 2), (0, length // 2 + 1), (last, 2)]
    edits = [(i, p, ALPHABET[(int(X[i, :, p].argmax()) + 1 + k % 3) % 4]) for k, (i, p) in enumerate(spots)]
    if name in HEAVY:
        edits = edits[:3]
    variants = variants_from_edits(X, edits)
    result = call(case, path, methods.score_variants, variants, genome=X, target="all", calibrate=None)
    if result is None:
        return
    reference = forward(case.model, X)
    alt = forward(case.model, torch.stack([substituted(X[i], [(p, ALPHABET.index(b))]) for i, p, b in edits]))
    ref = reference[[i for i, _, _ in edits]]
    tol = tolerance(reference, alt)
    assert len(result.outputs) == reference.shape[1] and (result.table["status"] == "ok").all()
    for k, o in enumerate(result.outputs):
        assert_agrees(result.table[f"ref_{o}"].to_numpy(), ref[:, k], tol, f"ref_{o}")
        assert_agrees(result.table[f"alt_{o}"].to_numpy(), alt[:, k], tol, f"alt_{o}")
        assert_agrees(result.table[f"delta_{o}"].to_numpy(), alt[:, k] - ref[:, k], tol, f"delta_{o}")


@pytest.mark.parametrize("name, path", cells())
def test_random_snv_effects(cases, name, path):
    case = cases(name)
    X, n = case.X(), 6 if case.name in HEAVY else 30
    result = call(case, path, methods.random_snv_effects, X, n=n, random_state=0)
    if result is None:
        return
    # the SNVs the docstring promises for random_state=0: window, position, then base offset
    rng = np.random.default_rng(0)
    seq, pos = rng.integers(0, len(X), n), rng.integers(0, case.length, n)
    base = (X.argmax(1).numpy()[seq, pos] + rng.integers(1, 4, n)) % 4
    reference = forward(case.model, X)
    edited = forward(case.model, torch.stack([substituted(X[i], [(p, b)]) for i, p, b in zip(seq, pos, base)]))
    assert_agrees(result, edited - reference[seq], tolerance(reference, edited), "effects")


# ---------------------------------------------------------------------------------------------
# span edits: motif knock-out, GIA, motif effects, spacing sweeps


@pytest.mark.parametrize("name, path", cells())
def test_motif_knockout(cases, name, path):
    case = cases(name)
    X, length = case.X(), case.length
    last = len(X) - 1
    sites = [(0, 0, 12), (last, length // 2 - 5, length // 2 + 5), (0, length - 8, length)]
    for fill, value in (("zeros", 0.0), ("uniform", 0.25)):
        result = call(case, path, methods.motif_knockout, X, sites=sites, fill=fill, target=case.target)
        if result is None:
            return
        t = methods.check_target(case.target, forward(case.model, X[:1]).shape[1], model=case.model)
        knocked = []
        for i, start, end in sites:
            y = X[i].clone()
            y[:, start:end] = value
            knocked.append(y)
        reference, out = forward(case.model, X), forward(case.model, torch.stack(knocked))
        expected = out[:, t] - reference[[s[0] for s in sites], t]
        assert result.sites == sites
        assert_agrees(result.delta, expected, tolerance(reference, out), f"delta (fill={fill!r})")


def _backgrounds(case: Case) -> torch.Tensor:
    return case.X(2 if case.name in HEAVY else 3, seed=1)


@pytest.mark.parametrize("name, path", cells())
def test_global_importance(cases, name, path):
    case = cases(name)
    bg, length = _backgrounds(case), case.length
    insertions = [(CTCF, length // 2 - len(CTCF) // 2, "+"), (AP1, length - len(AP1), "-")]
    result = call(case, path, methods.global_importance, bg, insertions=insertions, target=case.target,
                  random_state=0)
    if result is None:
        return
    t = methods.check_target(case.target, forward(case.model, bg[:1]).shape[1], model=case.model)
    reference, with_insertions = forward(case.model, bg), forward(case.model, inserted(bg, insertions))
    tol = tolerance(reference, with_insertions)
    assert_agrees(result.background_prediction, reference[:, t], tol, "background_prediction")
    assert_agrees(result.with_insertions, with_insertions[:, t], tol, "with_insertions")
    assert_agrees(result.effect, with_insertions[:, t] - reference[:, t], tol, "effect")
    assert abs(result.mean - float((with_insertions[:, t] - reference[:, t]).mean())) <= tol
    check_path(result, case, path)


@pytest.mark.parametrize("name, path", cells())
def test_motif_effects(cases, name, path):
    case = cases(name)
    bg = _backgrounds(case)
    motifs, position = {"ctcf": CTCF, "ap1": AP1}, 3
    result = call(case, path, methods.motif_effects, bg, motifs=motifs, position=position, strand="both",
                  target=case.target, random_state=0)
    if result is None:
        return
    t = methods.check_target(case.target, forward(case.model, bg[:1]).shape[1], model=case.model)
    reference = forward(case.model, bg)
    outs = {(m, s): forward(case.model, inserted(bg, [(motif, position, s)])) for m, motif in motifs.items()
            for s in "+-"}
    expected = torch.stack([(outs[m, "+"][:, t] + outs[m, "-"][:, t]) / 2 - reference[:, t] for m in motifs])
    tol = tolerance(reference, *outs.values())
    assert result.names == tuple(motifs) and result.positions == (position, position)
    assert_agrees(result.background_prediction, reference[:, t], tol, "background_prediction")
    assert_agrees(result.effect, expected, tol, "effect")
    assert_agrees(result.mean, expected.mean(1), tol, "mean")
    check_path(result, case, path)


def _b_start(position_a: int, spacing: int, strand_a: str, width_a: int, width_b: int) -> int:
    """B's start: ``spacing`` bases between A and B, downstream (spacing >= 0) in A's strand direction."""
    downstream = (spacing >= 0) == (strand_a == "+")  # to the right in sequence coordinates
    return position_a + width_a + abs(spacing) if downstream else position_a - abs(spacing) - width_b


@pytest.mark.parametrize("name, path", cells())
def test_spacing_sweep(cases, name, path):
    case = cases(name)
    bg, length = _backgrounds(case), case.length
    position_a = length // 2 - len(AP1) // 2
    spacings = [-2, 0, length // 2 - 12]  # the last one puts B at an end of the sequence (or off it)
    orientations = ("-+",) if name in HEAVY else ("+-", "-+")
    result = call(case, path, methods.spacing_sweep, bg, motif_a=AP1, motif_b=SP1, spacings=spacings,
                  orientations=orientations, position_a=position_a, target=case.target, random_state=0)
    if result is None:
        return
    t = methods.check_target(case.target, forward(case.model, bg[:1]).shape[1], model=case.model)
    reference = forward(case.model, bg)[:, t]
    n, n_o, n_s = len(bg), len(orientations), len(spacings)
    per_ab, per_b = torch.full((n, n_o, n_s), math.nan), torch.full((n, n_o, n_s), math.nan)
    per_a, starts, outputs = torch.empty(n, n_o), torch.full((n_o, n_s), -1), [reference]
    for o, (strand_a, strand_b) in enumerate(orientations):
        with_a = forward(case.model, inserted(bg, [(AP1, position_a, strand_a)]))[:, t]
        per_a[:, o] = with_a - reference
        outputs.append(with_a)
        for s, spacing in enumerate(spacings):
            start = _b_start(position_a, spacing, strand_a, len(AP1), len(SP1))
            if not (0 <= start and start + len(SP1) <= length):
                continue
            starts[o, s] = start
            both = forward(case.model, inserted(bg, [(AP1, position_a, strand_a), (SP1, start, strand_b)]))[:, t]
            alone = forward(case.model, inserted(bg, [(SP1, start, strand_b)]))[:, t]
            per_ab[:, o, s], per_b[:, o, s] = both - reference, alone - reference
            outputs += [both, alone]
    tol = tolerance(*outputs)
    assert torch.equal(result.b_start, starts) and torch.equal(result.valid, starts >= 0)
    assert_agrees(result.background_prediction, reference, tol, "background_prediction")
    assert_agrees(result.per_background, per_ab, tol, "per_background")
    assert_agrees(result.per_background_a, per_a, tol, "per_background_a")
    assert_agrees(result.per_background_b, per_b, tol, "per_background_b")
    assert_agrees(result.effect, per_ab.mean(0), tol, "effect")
    check_path(result, case, path)


# ---------------------------------------------------------------------------------------------
# interactions: pairwise ISM, DFIM (ISM importance)


@pytest.mark.parametrize("name, path", cells(skip=HEAVY))
def test_pairwise_ism(cases, name, path):
    case = cases(name)
    x, length = case.X(1), case.length
    start, end = length - 3, length  # a window at the end: edits whose windows are clamped
    result = call(case, path, methods.pairwise_ism, x, start=start, end=end, target=case.target)
    if result is None:
        return
    t = methods.check_target(case.target, forward(case.model, x).shape[1], model=case.model)
    width = end - start
    reference = forward(case.model, x)[0, t]
    combos = [(i, a, j, b) for i in range(width) for a in range(4) for j in range(width) for b in range(4) if i != j]
    out = forward(case.model, torch.stack([substituted(x[0], [(start + i, a), (start + j, b)])
                                           for i, a, j, b in combos]))[:, t]
    singles = torch.zeros(width, 4)
    for i in range(width):
        singles[i] = forward(case.model, torch.stack([substituted(x[0], [(start + i, a)]) for a in range(4)]))[:, t]
    singles -= reference
    singles[torch.arange(width), x[0, :, start:end].argmax(0)] = 0.0  # the observed base: no edit
    additive = singles[:, :, None, None] + singles[None, None]
    joint = additive.clone()  # i == j: defined as additive
    for (i, a, j, b), value in zip(combos, out):
        joint[i, a, j, b] = value - reference
    tol = tolerance(reference[None], out)
    assert_agrees(result.singles, singles, tol, "singles")
    assert_agrees(result.joint, joint, tol, "joint")
    assert_agrees(result.epistasis, joint - additive, 2 * tol, "epistasis")
    assert abs(result.prediction - float(reference)) <= tol


def _ism_importance(model, V: torch.Tensor, t: int, positions) -> tuple[torch.Tensor, list]:
    """Minus the mean over the four bases of the substitution effects (ISM attribution at the
    observed base), ``(M, L)``, at ``positions``; and the outputs it used."""
    delta, reference = ism_oracle(model, V, positions)
    return -delta[:, t].sum(1) / 4, [reference, (delta + reference[:, :, None, None]).flatten(1)]


@pytest.mark.parametrize("name, path", cells(skip=HEAVY))
def test_dfim(cases, oracle_cache, name, path):
    case = cases(name)
    x, length = case.X(case.n_map)[:1], case.length
    sources = [length // 2, length - 1]
    targets = [(length // 2 - 3, length // 2 + 2), (length - 4, length)]  # each holds a source
    result = call(case, path, methods.dfim, x, sources=sources, target_features=targets, importance="ism",
                  n_null=0, target=case.target, random_state=0)
    if result is None:
        return
    t = methods.check_target(case.target, forward(case.model, x).shape[1], model=case.model)
    delta, reference = cached_ism(oracle_cache, case)  # x is the first of its sequences
    base = -delta[:1, t].sum(1) / 4
    used = [reference[:1], (delta[:1] + reference[:1, :, None, None]).flatten(1)]
    positions = sorted({p for lo, hi in targets for p in range(lo, hi)})
    change = torch.zeros(len(sources), len(targets))
    for s, p in enumerate(sources):
        observed = int(x[0, :, p].argmax())
        mutants = torch.stack([substituted(x[0], [(p, (observed + k) % 4)]) for k in (1, 2, 3)])
        after, outs = _ism_importance(case.model, mutants, t, positions)
        used += outs
        diff = after.mean(0) - base[0]
        for k, (lo, hi) in enumerate(targets):
            change[s, k] = sum(float(diff[q]) for q in range(lo, hi) if q != p)
    tol = tolerance(*used)
    assert_agrees(result.importance, base[0], tol, "importance")
    assert_agrees(result.change, change, 16 * tol, "change")  # sums of 4 differences of importances


# ---------------------------------------------------------------------------------------------
# activation maximisation (the greedy search: rounds of single-base edits)


def _maximize_greedy(case: Case, path: str):
    # the greedy search with its edits on path `path`. Today `method` names the search
    # ("relaxed" / "greedy"); the contract gives every edit-based method method= for the
    # path, so the search kind is spelled `search=` here (change this one call if it lands otherwise)
    return call(case, path, methods.maximize_activation, length=case.length, target=case.target, search="greedy",
                n_starts=1, steps=1, motif_width=10, random_state=0)


@pytest.mark.parametrize("name, path", cells(skip=HEAVY))
def test_maximize_activation_greedy(cases, name, path):
    case = cases(name)
    result = _maximize_greedy(case, path)
    if result is None:
        return
    t = methods.check_target(case.target, forward(case.model, case.X(1)).shape[1], model=case.model)
    X = result.sequences
    assert torch.equal(X.sum(1), torch.ones(X.shape[0], case.length))  # one-hot
    outputs = forward(case.model, X)
    tol = tolerance(outputs, result.trajectory)
    assert_agrees(result.activations, outputs[:, t], tol, "activations")
    # each round adds the gain its path predicted for the best edit: the sum must be the
    # plain-pass value of the sequence reached
    assert_agrees(result.trajectory[-1], outputs[:, t], 2 * tol * result.trajectory.shape[0], "trajectory[-1]")
    assert bool((result.trajectory.diff(dim=0) >= 0).all())  # only improving edits


# ---------------------------------------------------------------------------------------------
# the argument itself


EDIT_CALLS = {
    "saturation_mutagenesis": lambda m, X: methods.saturation_mutagenesis(m, X, target="all", method="slow"),
    "mutagenesis_at": lambda m, X: methods.mutagenesis_at(m, X, positions=[0], target=0, method="slow"),
    "predict_edits": lambda m, X: methods.predict_edits(m, X, edits=[(0, 0, "A")], target=0, method="slow"),
    "motif_knockout": lambda m, X: methods.motif_knockout(m, X, sites=[(0, 0, 5)], fill="zeros", target=0,
                                                          method="slow"),
    "global_importance": lambda m, X: methods.global_importance(m, X, insertions=[(AP1, 0, "+")], target=0,
                                                                method="slow"),
    "motif_effects": lambda m, X: methods.motif_effects(m, X, motifs=[AP1], target=0, method="slow"),
    "spacing_sweep": lambda m, X: methods.spacing_sweep(m, X, motif_a=AP1, motif_b=SP1, spacings=[0], target=0,
                                                        method="slow"),
    "pairwise_ism": lambda m, X: methods.pairwise_ism(m, X[:1], start=0, end=2, target=0, method="slow"),
    "dfim": lambda m, X: methods.dfim(m, X[:1], sources=[0, 5], n_null=0, target=0, method="slow"),
    "score_variants": lambda m, X: methods.score_variants(m, variants_from_edits(X, [(0, 0, "A")]), genome=X,
                                                          target=0, calibrate=None, method="slow"),
    "random_snv_effects": lambda m, X: methods.random_snv_effects(m, X, n=5, method="slow"),
    "maximize_activation": lambda m, X: methods.maximize_activation(m, length=X.shape[2], target=0,
                                                                    search="greedy", steps=1, method="slow"),
}


@pytest.mark.parametrize("function", list(EDIT_CALLS))
def test_method_takes_exactly_auto_fast_naive(function):
    model, X = NoPlanCNN().eval(), random_one_hot(2, 40)
    with pytest.raises(ValueError, match="method") as info:
        EDIT_CALLS[function](model, X)
    assert all(p in str(info.value) for p in PATHS), str(info.value)
