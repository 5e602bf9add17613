"""Attribution AUROC against the planted truth: every method on every applicable zoo model.

    python benchmarks/ground_truth.py [--n 500]

For the models trained on ``attribution_benchmark``: the first ``n`` positive test sequences,
per-sequence AUROC of |attribution| per position against the planted mask (positions whose
matrix column carries > 0.01 bits), averaged (Koo & Ploenzke 2021). For the ``motif_presence``
models: test sequences carrying exactly one TF, the attribution for that TF's output against the
mask of its own instance(s). Methods that do not apply to a model (see
``methods.capabilities``) are reported as n/a. The last lines are ``RESULT`` lines.
"""

from __future__ import annotations

import argparse

import torch

from xai_widgets import zoo
from xai_widgets.methods import (capabilities, deep_lift_shap, integrated_gradients, saliency,
                                 saturation_mutagenesis)
from xai_widgets.metrics import per_sequence_auroc
from xai_widgets.zoo.specs import ZOO_SPECS, spec_task

METHODS = {
    "ism": lambda m, X, t: saturation_mutagenesis(m, X, t).attribution().sum(1),
    "saliency": lambda m, X, t: saliency(m, X, t).per_position(),
    "saliency_corrected": lambda m, X, t: saliency(m, X, t, correct=True).per_position(),
    "integrated_gradients": lambda m, X, t: integrated_gradients(m, X, t, baseline="shuffle", n_baselines=20,
                                                                 n_steps=8, random_state=0).per_position(),
    "deep_lift_shap": lambda m, X, t: deep_lift_shap(m, X, t, n_shuffles=10, random_state=0).per_position(),
}


def evaluation_set(name: str, n: int):
    """(X, target per sequence, mask) for a zoo model's own task."""
    task = spec_task(ZOO_SPECS[name]).subset("test")
    if task.name == "attribution_benchmark":
        rows = torch.nonzero(task.y[:, 0] == 1).flatten()[:n]
        return task.X[rows], torch.zeros(len(rows), dtype=torch.long), task.mask[rows]
    rows = torch.nonzero(task.y.sum(1) == 1).flatten()[:n]
    return task.X[rows], task.y[rows].argmax(1), task.mask[rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    names = zoo.list_models("attribution_benchmark") + zoo.list_models("motif_presence")
    table = {}
    for name in names:
        model = zoo.load(name, device="cpu")
        can = capabilities(model)
        X, targets, mask = evaluation_set(name, args.n)
        for method, run in METHODS.items():
            key = "saturation_mutagenesis" if method == "ism" else method.replace("_corrected", "")
            if can[key] != "yes":
                table[name, method] = None
                continue
            scores = torch.zeros(mask.shape)
            for t in targets.unique().tolist():
                rows = targets == t
                scores[rows] = run(model, X[rows], t)
            table[name, method] = float(per_sequence_auroc(scores.abs(), mask).nanmean())
        print(name, {m: (None if table[name, m] is None else round(table[name, m], 3)) for m in METHODS}, flush=True)
    print(f"\n{'model':36s} " + " ".join(f"{m[:12]:>12s}" for m in METHODS))
    for name in names:
        cells = ["n/a" if table[name, m] is None else f"{table[name, m]:.3f}" for m in METHODS]
        print(f"{name:36s} " + " ".join(f"{c:>12s}" for c in cells))
    for (name, method), value in table.items():
        print(f"RESULT ground_truth model={name} method={method} auroc={'n/a' if value is None else f'{value:.4f}'}")


if __name__ == "__main__":
    main()
