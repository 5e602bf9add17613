"""Saturation mutagenesis on the two published zoo models: our fast path, our plain path and
tangermeme, side by side in one process (CPU), quiet or under load.

    python benchmarks/ism_real.py                         # DeepSTARR full map; BPNet, 50 central positions
    python benchmarks/ism_real.py --models deepstarr --repeats 5
    python benchmarks/ism_real.py --bpnet-positions 0     # BPNet's full map (6,342 edits: minutes)
    python benchmarks/ism_real.py --load                  # the same with a busy process on every core

DeepSTARR (the first shipped fly enhancer, 249 bp): ``saturation_mutagenesis(target="all")``
with ``method="fast"`` and ``method="naive"`` (batched plain forward passes), and tangermeme's
``saturation_mutagenesis`` (``fast=False``, hypothetical, all outputs; tangermeme's own fast
path does not apply to these models).

BPNet CTCF (a random 2,114-bp sequence): with ``--bpnet-positions P`` (default 50) the ``P``
central positions only, as a flipper click computes its visible window: ours
``mutagenesis_at(positions=...)`` (the path ``method="auto"`` picks, printed), our plain path as
``xai_widgets.predict`` of the edited sequences, and tangermeme with ``start``/``end``; with
``--bpnet-positions 0`` the full map as for DeepSTARR.

Every column runs in turn in one loop (``_timing.alternate``, so drift hits all alike): ours
under the package's thread policy (``auto`` unless ``XAI_WIDGETS_THREADS`` says otherwise),
ours with the policy ``off`` (``*_off``: torch's thread count as it is), and tangermeme (torch's
thread count as it is). Medians of ``--repeats`` runs after a warm-up; ``max_abs_diff`` is
the largest difference between our fast and plain maps. The last lines are ``RESULT ism_real``
lines with the load (``_timing.load_fields``).
"""

from __future__ import annotations

import argparse
import warnings

import torch
from _timing import add_load_arguments, alternate, cpu_load, header, load_fields, policy_off, policy_threads_now

from xai_widgets import data, predict, zoo
from xai_widgets.methods import mutagenesis_at, saturation_mutagenesis

MODELS = {"deepstarr": 249, "bpnet_ctcf": 2114}


def sequence(name: str) -> torch.Tensor:
    if name == "deepstarr":
        return data.fly_enhancers().X[:1]
    g = torch.Generator().manual_seed(MODELS[name])
    return torch.nn.functional.one_hot(torch.randint(0, 4, (1, MODELS[name]), generator=g), 4).permute(0, 2, 1).float()


def full_map_columns(model, X, tm_ism):
    """ours fast, ours plain, tangermeme over the whole map: (functions, delta of a result)."""
    return ([lambda: saturation_mutagenesis(model, X, target="all", method="fast", device="cpu"),
             lambda: saturation_mutagenesis(model, X, target="all", method="naive", device="cpu"),
             lambda: tm_ism(model, X, hypothetical=True, fast=False, device="cpu", batch_size=256)],
            lambda result: result.delta[:, 0])


def window_columns(model, X, tm_ism, positions: int):
    """ours (auto path) and our plain passes over ``positions`` central positions, output 0."""
    length = X.shape[2]
    start = length // 2 - positions // 2
    window = torch.arange(start, start + positions)
    observed = X[0].argmax(0)
    edits = [(int(p), b) for p in window for b in range(4) if b != int(observed[p])]
    edited = X.repeat(len(edits), 1, 1)
    for i, (p, b) in enumerate(edits):
        edited[i, :, p] = 0
        edited[i, b, p] = 1
    pos, base = torch.tensor([p for p, _ in edits]), torch.tensor([b for _, b in edits])

    def plain():
        delta = torch.zeros(1, 4, length)
        delta[0, base, pos] = predict(model, edited, device="cpu")[:, 0] - predict(model, X, device="cpu")[0, 0]
        return delta

    return ([lambda: mutagenesis_at(model, X, positions=window, target=0, device="cpu"), plain,
             lambda: tm_ism(model, X, start=start, end=start + positions, hypothetical=True, fast=False,
                            device="cpu", batch_size=256)],
            lambda result: result if isinstance(result, torch.Tensor) else result.delta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--bpnet-positions", type=int, default=50,
                        help="BPNet: central positions to mutate (default 50); 0: the full map")
    parser.add_argument("--no-tangermeme", action="store_true", help="skip tangermeme (its plain path is slow)")
    add_load_arguments(parser)
    args = parser.parse_args()
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism

    warnings.simplefilter("ignore")
    results = []
    with cpu_load(args) as load:
        print(header(load), flush=True)
        for name in args.models:
            model = zoo.load(name, device="cpu")
            X = sequence(name)
            positions = args.bpnet_positions if name == "bpnet_ctcf" else 0
            if positions:
                (fast_fn, plain_fn, tm_fn), delta = window_columns(model, X, tm_ism, positions)
            else:
                (fast_fn, plain_fn, tm_fn), delta = full_map_columns(model, X, tm_ism)
            columns = [fast_fn, policy_off(fast_fn), plain_fn, policy_off(plain_fn)]
            if not args.no_tangermeme:
                columns.append(tm_fn)
            threads = policy_threads_now()
            times, outs = alternate(columns, args.repeats)
            fast_ms, fast_off, plain_ms, plain_off = times[:4]
            tm_ms = times[4] if len(times) > 4 else float("nan")
            path = getattr(outs[0], "path", "?")
            diff = float((delta(outs[0]) - delta(outs[2])).abs().max())
            edits = 3 * (positions or X.shape[2])
            print(f"{name:10s} L={X.shape[2]} edits={edits} path={path} policy threads {threads}: "
                  f"fast {fast_ms:8.1f} ms (off {fast_off:8.1f})  plain {plain_ms:8.1f} ms (off {plain_off:8.1f})  "
                  f"tangermeme {tm_ms:8.1f} ms  plain/fast {plain_ms / fast_ms:5.2f} "
                  f"(off {plain_off / fast_off:5.2f})  "
                  f"tangermeme/fast {tm_ms / fast_ms:5.2f} (off {tm_ms / fast_off:5.2f})  diff {diff:.2e}", flush=True)
            results.append(f"RESULT ism_real model={name} L={X.shape[2]} N=1 edits={edits} path={path} "
                           f"policy_threads={threads} ours_ms={fast_ms:.1f} ours_policy_off_ms={fast_off:.1f} "
                           f"plain_ms={plain_ms:.1f} plain_policy_off_ms={plain_off:.1f} tangermeme_ms={tm_ms:.1f} "
                           f"plain_over_fast={plain_ms / fast_ms:.2f} tangermeme_over_fast={tm_ms / fast_ms:.2f} "
                           f"tangermeme_over_fast_off={tm_ms / fast_off:.2f} max_abs_diff={diff:.2e} "
                           f"{load_fields(load)}")
    print("\n".join(results))


if __name__ == "__main__":
    main()
