"""Gradient attributions: xai-widgets against captum and tangermeme, side by side in one process.

    python benchmarks/attributions.py [--n 32] [--length 1000]
    python benchmarks/attributions.py --load      # the same with a busy process on every core

Times saliency and integrated gradients (50 Gauss-Legendre steps, zero baseline) against
captum, and DeepLIFT/DeepSHAP (20 shuffled references per sequence, the same references for
both) against tangermeme, on the zoo's exponential Basset-style model, on the CPU. Three
columns, timed in turn in one loop: ours (the package's thread policy as set, ``auto`` unless
``XAI_WIDGETS_THREADS`` says otherwise), ours with the policy ``off`` (torch's thread count as
it is) and the peer (torch's thread count as it is). Prints a table and then one ``RESULT`` line
per method with the ratio peer/ours (> 1: we are faster), ``ratio_off`` (peer over ours with the
policy off) and the load (``_timing.load_fields``).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import warnings

import _timing as t
import torch
from torch import nn

from xai_widgets import zoo
from xai_widgets.contract import Exp
from xai_widgets.data import dinucleotide_shuffle
from xai_widgets.methods import deep_lift_shap, integrated_gradients, saliency

METHODS = ("saliency", "integrated_gradients", "deep_lift_shap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--peer-policy", action="store_true",
                        help="a fourth column: the peer run under our thread policy (what threads alone buy it)")
    t.add_load_arguments(parser)
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

    def saliency_pair():
        return (lambda: saliency(model, X, target=0, device="cpu").values,
                lambda: captum_attr.Saliency(model).attribute(X.clone().requires_grad_(), target=0, abs=False))

    def ig_pair():
        return (lambda: integrated_gradients(model, X, target=0, n_steps=50, device="cpu").values,
                lambda: captum_attr.IntegratedGradients(model).attribute(X, baselines=0.0, target=0, n_steps=50,
                                                                         internal_batch_size=256))

    def dls_pair():
        return (lambda: deep_lift_shap(model, X, target=0, references=refs, device="cpu", batch_size=128).hypothetical,
                lambda: tangermeme_dls(twin, X, target=0, references=refs, hypothetical=True,
                                       additional_nonlinear_ops={Exp: _nonlinear}, device="cpu", batch_size=128))

    pairs = {"saliency": ("captum", saliency_pair, 5),  # short calls: more repeats
             "integrated_gradients": ("captum", ig_pair, 1), "deep_lift_shap": ("tangermeme", dls_pair, 1)}
    rows = []
    with t.cpu_load(args) as load:
        print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} "
              f"threads (the thread policy picks {t.policy_threads_now()} now); basset_exp_motif_presence, N={args.n}, "
              f"L={args.length}; {t.load_note(load)}", flush=True)
        for method in args.methods:
            peer_name, pair, factor = pairs[method]
            ours_fn, peer_fn = pair()
            threads = t.policy_threads_now()
            columns = [ours_fn, t.policy_off(ours_fn), peer_fn] + ([t.policy_on(peer_fn)] if args.peer_policy else [])
            times, (a, a_off, b, *_) = t.alternate(columns, args.repeats * factor)
            ours, off, peer = times[:3]
            peer_policy = times[3] if args.peer_policy else float("nan")
            rows.append((method, peer_name, ours, off, peer, peer_policy, threads, float((a - b).abs().max()),
                         float((a - a_off).abs().max()), t.load_fields(load)))

    print(f"{'method':22s} {'peer':11s} {'ours ms':>9s} {'off ms':>9s} {'peer ms':>9s} {'peer pol':>9s} "
          f"{'peer/ours':>9s} {'peer/off':>9s} {'threads':>7s} {'max diff':>9s}")
    for method, peer_name, ours, off, peer, peer_policy, threads, diff, _, _ in rows:
        print(f"{method:22s} {peer_name:11s} {ours:9.1f} {off:9.1f} {peer:9.1f} {peer_policy:9.1f} {peer / ours:9.2f} "
              f"{peer / off:9.2f} {threads:7d} {diff:9.2e}")
    for method, peer_name, ours, off, peer, peer_policy, threads, diff, diff_off, loads in rows:
        extra = f"{peer_name}_policy_ms={peer_policy:.1f} " if args.peer_policy else ""
        print(f"RESULT {method} N={args.n} L={args.length} ours_ms={ours:.1f} ours_policy_off_ms={off:.1f} "
              f"{peer_name}_ms={peer:.1f} {extra}ratio={peer / ours:.2f} ratio_off={peer / off:.2f} "
              f"policy_threads={threads} max_abs_diff={diff:.2e} policy_diff={diff_off:.2e} {loads}")


if __name__ == "__main__":
    main()
