"""Attribution AUROC against the planted truth: every method on every applicable zoo model.

    python benchmarks/ground_truth.py [--n 500]

For the models trained on ``attribution_benchmark``: the first ``n`` positive test sequences,
per-sequence AUROC of |attribution| per position against the planted mask (positions whose
matrix column carries > 0.01 bits), averaged (Koo & Ploenzke 2021). For the ``motif_presence``
models: test sequences carrying exactly one TF, the attribution for that TF's output against the
mask of its own instance(s). Methods that do not apply to a model (see
``methods.capabilities``) are reported as n/a.

Model-based rows (``--only model-based`` runs just these and the attention row): first-layer filter motifs from
activations
(3000 test sequences, threshold 0.5) of the exponential and ReLU Basset-style models on
``motif_presence``, the planted motifs some filter matches (Tomtom E < 0.1 against the motif's
own JASPAR 2024 matrix among all 879 CORE vertebrate matrices), and the ablation rank (2000 test
sequences, mean AUROC drop) of the most important filter matching each planted motif.

Attention row: the attention model on 1000 ``motif_presence`` test sequences with a planted
instance, per-sequence AUROC of ``attention_importance`` (attention received, mean over queries,
heads and layers, spread over each token's receptive field) against the planted mask, and of an
untrained model of the same configuration.

Interaction rows (``--only interactions``), on ``basset_relu_cooperative_grammar`` and
sequences it was not trained on: the spacing sweep of Spi1 and Irf1 (100 random backgrounds,
spacings -30..30, four orientations) and where it peaks, against the planted window (Irf1 4-12
bp downstream of Spi1 on the same strand); DFIM's rank of the planted Spi1-Irf1 pair against
every pair involving a distractor (CTCF, REST) over 30 grammar sequences; GIA's order of the
four motifs against their planted effects.

The last lines are ``RESULT`` lines (``RESULT filters model=<model> matched=<k>/12``,
``RESULT attention auroc=<value>``, ``RESULT spacing peak=<bp> window=<lo>-<hi>
orientation=<found>/<planted>``, ``RESULT dfim planted_pair_rank=<rank>``).
"""

from __future__ import annotations

import argparse

import torch

from xai_widgets import zoo
from xai_widgets.methods import capabilities, deep_lift_shap, integrated_gradients, saliency, saturation_mutagenesis
from xai_widgets.metrics import per_sequence_auroc
from xai_widgets.zoo.specs import ZOO_SPECS, spec_task

METHODS = {
    "ism": lambda m, X, t: saturation_mutagenesis(m, X, target=t).values.sum(1),
    "saliency": lambda m, X, t: saliency(m, X, target=t).per_position(),
    "saliency_corrected": lambda m, X, t: saliency(m, X, target=t, correct=True).per_position(),
    "integrated_gradients": lambda m, X, t: integrated_gradients(m, X, target=t, baseline="shuffle", n_baselines=20,
                                                                 n_steps=8, random_state=0).per_position(),
    "deep_lift_shap": lambda m, X, t: deep_lift_shap(m, X, target=t, n_shuffles=10, random_state=0).per_position(),
}


def evaluation_set(name: str, n: int):
    """(X, target per sequence, mask) for a zoo model's own task."""
    task = spec_task(ZOO_SPECS[name]).subset("test")
    if task.name == "attribution_benchmark":
        rows = torch.nonzero(task.y[:, 0] == 1).flatten()[:n]
        return task.X[rows], torch.zeros(len(rows), dtype=torch.long), task.mask[rows]
    rows = torch.nonzero(task.y.sum(1) == 1).flatten()[:n]
    return task.X[rows], task.y[rows].argmax(1), task.mask[rows]


def filter_rows() -> list[str]:
    """Planted motifs recovered by first-layer filters, and their ablation ranks."""
    import numpy as np

    from xai_widgets.data import motif_presence
    from xai_widgets.evaluation import planted_e_values
    from xai_widgets.methods import filter_importance, filters_from_activations

    task = motif_presence(random_state=0)
    test = task.subset("test")
    results = []
    for name in ("basset_exp_motif_presence", "basset_relu_motif_presence"):
        model = zoo.load(name, device="cpu")
        motifs = filters_from_activations(model, test.X[:3000], progress=False)
        e_values = planted_e_values(motifs, task.motifs)
        importance = filter_importance(model, test.X[:2000], y=test.y[:2000], progress=False)
        rank = np.empty(len(motifs), dtype=int)
        rank[importance.order] = np.arange(len(motifs))
        matched = {tf: int(rank[e < 0.1].min()) for tf, e in e_values.items() if (e < 0.1).any()}
        matching = np.zeros(len(motifs), dtype=bool)
        for e in e_values.values():
            matching |= e < 0.1
        print(f"{name}: {len(matched)}/12 planted motifs matched; best ablation rank of a matching filter "
              f"(0 = most important of {len(motifs)}): {matched}; missed: {sorted(set(e_values) - set(matched))}; "
              f"{int(matching.sum())} filters match some planted motif, median rank {np.median(rank[matching]):.1f} "
              f"vs {np.median(rank[~matching]) if (~matching).any() else float('nan'):.1f} for the others")
        results.append(f"RESULT filters model={name} matched={len(matched)}/12")
    return results


def attention_rows() -> list[str]:
    """Attention-derived importance against the planted mask, trained vs untrained."""
    from xai_widgets.data import motif_presence
    from xai_widgets.methods import attention_importance, attention_maps
    from xai_widgets.zoo.architectures import build

    test = motif_presence(random_state=0).subset("test")
    rows = torch.nonzero(test.mask.any(1)).flatten()[:1000]
    X, mask = test.X[rows], test.mask[rows]
    model = zoo.load("attention_motif_presence", device="cpu")
    torch.manual_seed(0)
    untrained = build("attention", **model.card["config"]).eval()
    scores = {}
    for label, m in (("trained", model), ("untrained", untrained)):
        importance = attention_importance(attention_maps(m, X, device="cpu"))
        scores[label] = float(per_sequence_auroc(importance, mask).nanmean())
    print(f"attention_motif_presence: attention importance vs planted mask, per-sequence AUROC "
          f"{scores['trained']:.3f} (untrained {scores['untrained']:.3f}) over {len(rows)} sequences")
    return [f"RESULT attention auroc={scores['trained']:.4f}"]


def interaction_rows() -> list[str]:
    """Spacing sweep, DFIM and GIA against the planted grammar."""
    from xai_widgets.data import backgrounds, cooperative_grammar, get_motif
    from xai_widgets.data.tasks import GRAMMAR_RULE
    from xai_widgets.evaluation import planted_pair_rank
    from xai_widgets.methods import motif_effects, spacing_sweep

    model = zoo.load("basset_relu_cooperative_grammar", device="cpu")
    rule = GRAMMAR_RULE
    bgs = backgrounds(100, 200, random_state=0)
    sweep = spacing_sweep(model, bgs, motif_a=get_motif(rule.anchor), motif_b=get_motif(rule.partner),
                          spacings=range(-30, 31), device="cpu", random_state=0)
    orientation, spacing = sweep.peak()
    planted = "++|--"
    at_peak = (sweep.orientations.index(orientation), list(sweep.spacings).index(spacing))
    print(f"spacing sweep Spi1-Irf1: peak {orientation} at {spacing} bp (planted: same strand, "
          f"{rule.spacing[0]}-{rule.spacing[1]} bp downstream); cooperativity there "
          f"{float(sweep.cooperativity[at_peak]):.2f}")
    ranks = planted_pair_rank(model, cooperative_grammar(n=2000, random_state=1), n_sequences=30, progress=False)
    print(f"DFIM: {ranks}")
    effects = motif_effects(model, bgs, motifs={name: get_motif(name) for name in ("Spi1", "Irf1", "CTCF", "REST")},
                            device="cpu", random_state=0)
    planted_order = ["Spi1", "Irf1", "CTCF", "REST"]  # planted effects +1.0, +0.5, 0, -0.5
    print("GIA mean effects (planted +1.0, +0.5, 0, -0.5): "
          + ", ".join(f"{name} {effects.as_dict()[name]:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                      for name, (lo, hi) in zip(effects.names, effects.ci.tolist())))
    return [f"RESULT gia order={'>'.join(effects.ranking())} planted={'>'.join(planted_order)}",
            f"RESULT spacing peak={spacing} window={rule.spacing[0]}-{rule.spacing[1]} "
            f"orientation={orientation}/{planted}",
            f"RESULT dfim planted_pair_rank={int(ranks.rank.max())} (worst of {len(ranks.rank)}; "
            f"first in {ranks.fraction_first:.0%})"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--only", choices=["attributions", "model-based", "interactions"], default=None)
    args = parser.parse_args()
    if args.only == "interactions":
        print("\n".join(interaction_rows()))
        return
    model_rows = [] if args.only == "attributions" else filter_rows() + attention_rows() + interaction_rows()
    if args.only == "model-based":
        print("\n".join(model_rows))
        return
    names = zoo.list_models("attribution_benchmark") + zoo.list_models("motif_presence")
    table = {}
    for name in names:
        model = zoo.load(name, device="cpu")
        can = capabilities(model)
        X, targets, mask = evaluation_set(name, args.n)
        for method, run in METHODS.items():
            key = method.replace("_corrected", "")
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
    print("\n".join(model_rows))


if __name__ == "__main__":
    main()
