"""Gradient attributions: xai-widgets against captum and tangermeme, side by side in one process.

    python benchmarks/attributions.py [--n 32] [--length 1000]

Times saliency and integrated gradients (50 Gauss-Legendre steps, zero baseline) against
captum, and DeepLIFT/DeepSHAP (20 shuffled references per sequence, the same references for
both) against tangermeme, on the zoo's exponential Basset-style model, on the CPU. Prints a
table and then one ``RESULT`` line per method with the ratio peer/ours (> 1: we are faster).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import warnings

import torch
from _timing import compare_ms
from torch import nn

from xai_widgets import zoo
from xai_widgets.contract import Exp
from xai_widgets.data import dinucleotide_shuffle
from xai_widgets.methods import deep_lift_shap, integrated_gradients, saliency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import captum.attr as captum_attr
    from tangermeme.deep_lift_shap import _nonlinear
    from tangermeme.deep_lift_shap import deep_lift_shap as tangermeme_dls

    warnings.simplefilter("ignore")
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    g = torch.Generator().manual_seed(0)
    X = nn.functional.one_hot(torch.randint(0, 4, (args.n, args.length), generator=g), 4).permute(0, 2, 1).float()
    refs = dinucleotide_shuffle(X, 20, random_state=0)
    twin = copy.deepcopy(model)  # tangermeme needs the global max pool as an nn.MaxPool1d
    twin.global_pool = nn.Sequential(nn.MaxPool1d(args.length // 16), nn.Flatten())

    rows = []
    ours, a, peer, b = compare_ms(
        lambda: saliency(model, X, target=0, device="cpu").values,
        lambda: captum_attr.Saliency(model).attribute(X.clone().requires_grad_(), target=0, abs=False),
        args.repeats * 5)  # short calls: more repeats
    rows.append(("saliency", "captum", ours, peer, float((a - b).abs().max())))
    ours, a, peer, b = compare_ms(
        lambda: integrated_gradients(model, X, target=0, n_steps=50, device="cpu").values,
        lambda: captum_attr.IntegratedGradients(model).attribute(X, baselines=0.0, target=0, n_steps=50,
                                                                 internal_batch_size=256),
        args.repeats)
    rows.append(("integrated_gradients", "captum", ours, peer, float((a - b).abs().max())))
    ours, a, peer, b = compare_ms(
        lambda: deep_lift_shap(model, X, target=0, references=refs, device="cpu", batch_size=128).hypothetical,
        lambda: tangermeme_dls(twin, X, target=0, references=refs, hypothetical=True,
                               additional_nonlinear_ops={Exp: _nonlinear}, device="cpu", batch_size=128),
        args.repeats)
    rows.append(("deep_lift_shap", "tangermeme", ours, peer, float((a - b).abs().max())))

    print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads; basset_exp_motif_presence, N={args.n}, L={args.length}")
    print(f"{'method':22s} {'peer':11s} {'ours ms':>9s} {'peer ms':>9s} {'peer/ours':>9s} {'max diff':>9s}")
    for method, peer_name, ours, peer, diff in rows:
        print(f"{method:22s} {peer_name:11s} {ours:9.1f} {peer:9.1f} {peer / ours:9.2f} {diff:9.2e}")
    for method, peer_name, ours, peer, diff in rows:
        print(f"RESULT {method} N={args.n} L={args.length} ours_ms={ours:.1f} {peer_name}_ms={peer:.1f} "
              f"ratio={peer / ours:.2f} max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
