"""Attribution diagnostics: is an explanation of this model on these sequences to be trusted?

:func:`diagnose` runs cheap, independent checks of the ways an attribution goes wrong without
an error: a method applied to a model it has no exact rule for, a fast path that does not
compute what the model computes, DeepLIFT contributions that do not add up to the prediction
difference, gradient methods that disagree with in-silico mutagenesis (saturation), and the
known traps of input and model state. Every number comes from plain forward passes of the
model, so a check does not trust the code it checks.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from .._core import predict, renamed_keywords, resolve_device
from ..contract import local_plan
from ..metrics import spearman
from ._common import check_target
from ._engine.path import compare_fast_path
from .capabilities import capabilities
from .gradients import saliency
from .ism import saturation_mutagenesis
from .registry import get_method, method_names

#: Above this relative summation gap (``|sum of contributions - (f(x) - f(r))| / (1 + |f(x) - f(r)|)``)
#: DeepLIFT's contributions are flagged.
GAP_TOLERANCE = 1e-3
#: Below this mean Spearman correlation with ISM a gradient method is flagged as disagreeing.
MIN_RANK_AGREEMENT = 0.3
#: Gradient methods explain a model saturated when their first-order estimates of the
#: substitution effects reach less than this fraction of ISM's effects.
SATURATION_RATIO = 0.1

#: Options of the methods' interactive defaults that :func:`diagnose`'s own parameters set.
_SETTINGS = {"n_steps": "n_steps", "n_shuffles": "n_shuffles"}


@dataclass(frozen=True)
class Diagnosis:
    """Result of :func:`diagnose`.

    Attributes
    ----------
    applicability : dict of str to str
        Per registered method (and ``fast_ism``), ``"yes"`` or why not (:func:`capabilities` on
        these sequences).
    deeplift_gap : torch.Tensor or None, shape (N,)
        Per sequence, the largest relative summation gap over references (None when DeepLIFT
        does not apply).
    fast_path : dict or None
        ``{"agrees": bool, "max_difference": float, "tolerance": float, "n_edits": int}``
        from raw fast-path edits against plain forward passes (None when the model has no
        local plan).
    rank_agreement : dict of str to float
        Per method of the registry that applies and is interactive (every one but ISM itself and
        occlusion: the gradient methods, DeepSHAP, any registered), the mean over sequences of the
        Spearman correlation of its per-position scores with ISM's.
    gradient_to_ism_ratio : float or None
        Median over positions of ``|first-order estimate from gradients| / |ISM effect|`` for
        the largest substitutions; small values mean saturation.
    warnings : list of str
        Every problem found, in words, with what to do.
    """

    applicability: dict
    deeplift_gap: torch.Tensor | None
    fast_path: dict | None
    rank_agreement: dict
    gradient_to_ism_ratio: float | None
    warnings: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.warnings

    def summary(self) -> str:
        """The verdict in a few lines of plain text."""
        lines = ["diagnosis: " + ("no problem found" if self.ok else f"{len(self.warnings)} problem(s)")]
        lines += [f"  ! {w}" for w in self.warnings]
        for method, answer in self.applicability.items():
            lines.append(f"  {method}: {answer}")
        if self.deeplift_gap is not None:
            lines.append(f"  DeepLIFT summation gap (max, relative): {float(self.deeplift_gap.max()):.2e}")
        if self.fast_path is not None:
            lines.append(f"  fast vs plain ISM: max difference {self.fast_path['max_difference']:.2e} "
                         f"on {self.fast_path['n_edits']} edits")
        for method, rho in self.rank_agreement.items():
            lines.append(f"  rank agreement with ISM, {method}: {rho:.2f}")
        if self.gradient_to_ism_ratio is not None:
            lines.append(f"  gradient / ISM effect size: {self.gradient_to_ism_ratio:.2f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Diagnosis(ok={self.ok}, warnings={len(self.warnings)})"


def _input_problems(X) -> list[str]:
    if not isinstance(X, torch.Tensor) or X.ndim != 3 or X.shape[1] != 4:
        shape = tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__
        return [f"X is not (N, 4, L) one-hot sequences (got {shape}); encode strings with data.one_hot"]
    if not X.is_floating_point():
        return [f"X has dtype {X.dtype}; methods need a floating tensor (X.float())"]
    hot = ((X == 0) | (X == 1)).all(1) & (X.sum(1) == 1)
    unknown = (X == 0).all(1) | (X == 0.25).all(1)
    bad = ~(hot | unknown)
    if bool(bad.any()):
        n, i = map(int, torch.nonzero(bad)[0])
        return [f"X is not one-hot: {int(bad.sum())} column(s) are neither a base nor N, first X[{n}, :, {i}] = "
                f"{[round(v, 3) for v in X[n, :, i].tolist()]} (a softmax or a smoothed input?); attributions of "
                "such inputs do not explain sequences"]
    return []


def _model_problems(model: nn.Module) -> list[str]:
    problems = []
    stochastic = [name for name, m in model.named_modules()
                  if m.training and isinstance(m, (nn.Dropout, nn.modules.batchnorm._BatchNorm))]
    if stochastic:
        problems.append(f"the model is in training mode ({', '.join(stochastic[:3])}): the methods compute in eval "
                        "mode and restore the mode afterwards, but predictions you make yourself now are random "
                        "(dropout) or depend on the batch (batch norm); call model.eval()")
    batch_stats = [name for name, m in model.named_modules()
                   if isinstance(m, nn.modules.batchnorm._BatchNorm) and not m.track_running_stats]
    if batch_stats:
        problems.append(f"batch norm without running statistics ({', '.join(batch_stats[:3])}) normalises with the "
                        "statistics of each batch even in eval mode: a sequence's prediction and attribution depend on "
                        "the other sequences in its batch")
    return problems


def _ism_per_position(ism) -> torch.Tensor:
    return ism.values.sum(1)


@torch.no_grad()
def _relative_gaps(model, X, result, target, device) -> torch.Tensor:
    """Per sequence, the largest relative summation gap over references, from plain forward passes."""
    n, n_refs = result.references.shape[:2]
    fx = predict(model, X, device=device)[:, target].double()
    fr = predict(model, result.references.reshape(-1, *X.shape[1:]), device=device)[:, target].double().view(n, n_refs)
    change = fx[:, None] - fr
    # the contributions against each reference are not kept: check the mean over references,
    # whose sum must equal the mean prediction difference
    total = (result.values.double()).sum((1, 2))
    gap = (total - change.mean(1)).abs() / (1 + change.abs().mean(1))
    return gap.float()


@renamed_keywords(n_references="n_shuffles")
def diagnose(model: nn.Module, X, *, target: int | None = None, n_shuffles: int = 10, n_steps: int = 32,
             device="auto", random_state: int | None = None) -> Diagnosis:
    """Check whether the attribution methods can be trusted on ``model`` and ``X``.

    Runs, on the given sequences (a few are enough; each check costs about one ISM):

    - applicability of every method (:func:`capabilities` with ``X``), with the reason when not;
    - DeepLIFT's summation gap per sequence, recomputed from plain forward passes;
    - the raw fast ISM path on sampled edits against plain forward passes (whether or not the
      package would take that path);
    - the Spearman rank agreement with ISM's per-position scores of every other interactive
      method of the registry that applies (:func:`~.registry.method_names`; each run with its
      interactive defaults, ``n_steps``, ``n_shuffles`` and ``random_state`` set from here);
    - saturation: how large the gradients' first-order estimates of the strongest substitution
      effects are compared with ISM's effects;
    - traps: training mode, non-one-hot input, batch norm with batch statistics.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``. Left as found.
    X : torch.Tensor, shape (N, 4, L)
        The sequences to explain (``N`` columns allowed).
    target : int, str or None, optional
        Default None: the model's only output (ValueError for a multi-output model, naming its
        outputs); else the output (index or name) to check.
    n_shuffles : int, optional
        Default 10. Dinucleotide-shuffled references for DeepSHAP (every method's ``n_shuffles``
        option among its interactive defaults, as :func:`~xai_widgets.methods.deep_lift_shap`
        names it; the keyword was ``n_references`` before).
    n_steps : int, optional
        Default 32. Integrated-gradients steps (every method's ``n_steps`` option among its
        interactive defaults).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available, else the CPU.
    random_state : int or None, optional
        Default None. Seed of the shuffles; pass an int for a reproducible diagnosis (the
        NucleotideFlipper passes its own).

    Returns
    -------
    Diagnosis
        ``.ok``, ``.warnings`` and ``.summary()`` give the verdict.

    Examples
    --------
    >>> from xai_widgets import data, methods, zoo
    >>> model = zoo.load("basset_exp_motif_presence")
    >>> print(methods.diagnose(model, data.motif_presence(n=4).X, target=0).summary())  # doctest: +SKIP
    """
    problems = _model_problems(model) + _input_problems(X)
    if _input_problems(X):
        return Diagnosis({}, None, None, {}, None, problems)
    device = resolve_device(device)
    applicability = capabilities(model, X)
    n_outputs = predict(model, X[:1], device=device).shape[1]
    target = check_target(target, n_outputs, model=model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the checks below report what the warnings say
        ism = saturation_mutagenesis(model, X, target=target, device=device)
        scores = {}
        settings = {"n_steps": n_steps, "n_shuffles": n_shuffles}
        for name in method_names(interactive=True):
            if name == "ism" or applicability.get(name) != "yes":
                continue
            entry = get_method(name)
            options = {k: settings[_SETTINGS[k]] if k in _SETTINGS else v for k, v in entry.defaults.items()
                       if k != "random_state"}
            if entry.accepts("on_gap"):
                options["on_gap"] = "warn"  # the gap is checked below, from plain forward passes
            scores[name] = entry.run(model, X, target=target, device=device, random_state=random_state,
                                     options=options)
        gap = None
        if "deep_lift_shap" in scores:
            gap = _relative_gaps(model, X, scores["deep_lift_shap"], target, device)
            if float(gap.max()) > GAP_TOLERANCE:
                problems.append(f"DeepLIFT's contributions miss the prediction difference by up to "
                                f"{float(gap.max()):.2e} (relative; tolerance {GAP_TOLERANCE}): a nonlinearity "
                                "without an exact rule, or a model whose forward is not what its modules say")
    fast = None
    plan = local_plan(model)
    if plan is not None:
        fast = compare_fast_path(model, X, plan, device=device)
        if not fast["agrees"]:
            problems.append(f"the fast ISM path disagrees with plain forward passes (max difference "
                            f"{fast['max_difference']:.2e} > {fast['tolerance']:.2e}): the package falls back to plain "
                            "passes, but check the model's local_plan() and its layers")
    reference = _ism_per_position(ism)
    agreement = {}
    for name, result in scores.items():
        per_position = get_method(name).per_position(result.values, X)
        rho = [spearman(a, b) for a, b in zip(per_position, reference)]
        rho = [r for r in rho if not math.isnan(r)]
        agreement[name] = float(sum(rho) / len(rho)) if rho else float("nan")
        if rho and agreement[name] < MIN_RANK_AGREEMENT:
            problems.append(f"{name} ranks positions unlike ISM (mean Spearman {agreement[name]:.2f} < "
                            f"{MIN_RANK_AGREEMENT}): trust ISM here, or check for saturation")
    # saturation: gradient estimate of each substitution effect, g[b] - g[observed], vs ISM's delta
    grad = (scores["saliency"] if "saliency" in scores else saliency(model, X, target=target, device=device)).values
    estimate = grad - (grad * X).sum(1, keepdim=True)
    strongest = ism.delta.abs() >= ism.delta.abs().flatten(1).quantile(0.9, dim=1)[:, None, None]
    strongest &= ism.delta.abs() > 0
    ratio = None
    if bool(strongest.any()):
        ratio = float((estimate.abs()[strongest] / ism.delta.abs()[strongest]).median())
        if ratio < SATURATION_RATIO:
            problems.append(f"gradients estimate the strongest substitution effects at {ratio:.2f} of their ISM "
                            "size: the model is saturated here (e.g. a sigmoid output near 0 or 1); prefer ISM, "
                            "DeepSHAP or integrated gradients with a shuffled baseline, and explain logits rather "
                            "than probabilities")
    return Diagnosis(applicability, gap, fast, agreement, ratio, problems)
