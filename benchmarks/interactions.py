"""Motif-spacing sweeps and global importance: xai-widgets against tangermeme, in one process.

    python benchmarks/interactions.py               # 100 backgrounds, spacings -50..50, 3 repeats
    python benchmarks/interactions.py --repeats 1   # one timed run each (after a warm-up)
    python benchmarks/interactions.py --threads 1   # steadier timings on a machine shared with others
    python benchmarks/interactions.py --load        # with a busy process on every core (_timing.CPULoad)

Same model (``basset_relu_cooperative_grammar``, L = 200 from its card), same backgrounds
(100 uniform random sequences), same motifs (the consensus sequences of Spi1 and Irf1, and of
CTCF and REST for GIA, from the bundled JASPAR set), same 101 spacings, all four orientations.

Sweep: ours is ``spacing_sweep`` (fast path). For tangermeme, ``space`` places its first motif
at ``start`` and each next motif ``spacing`` bases after the end of the previous one, always to
the right, so our convention (spacing = bases between A and B, signed by B's side in A's strand
direction; A fixed at ``L // 2 - W_A // 2``) maps as follows, per orientation:

* B to the right of A in sequence coordinates (``s >= 0`` with A on ``+``, ``s < 0`` with A on
  ``-``): ``space(X, [A, B], spacing=[[|s|], ...], start=position_a)``;
* B to the left: ``space(X, ["N", B, A], spacing=[[b_start - 1, |s|], ...], start=0)``. The
  leading ``"N"`` keeps the background base at position 0 (tangermeme's ignore character),
  so B lands at ``b_start`` and A at ``position_a`` for every spacing in one call.

A and B are the motif strings, reverse-complemented for ``-``. That is 8 ``space`` calls of 50
or 51 spacings each (each also predicts the 100 backgrounds once), and ``y_after - y_before``
is compared with our per-background ``f(AB) - f(bg)``. The headline row times
``spacing_sweep(..., singles=False)``, which computes exactly that quantity; the default
``singles=True`` also predicts B alone at every position (and A alone), for the single effects
and the cooperativity ratio, and is timed on the next row. ``--with-naive`` adds our plain
path (full forward passes), to show what the cached windows buy.

GIA: ``motif_effects`` (all four motifs at once, centred, + strand) against one ``marginalize``
call per motif with ``start=None`` (tangermeme's centring, ``L // 2 - W // 2``, is ours).

The last lines are ``RESULT`` lines, with the load (``_timing.load_fields``).
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import torch
from _timing import add_load_arguments, alternate, cpu_load, load_fields, load_note, median_ms

from xai_widgets import zoo
from xai_widgets.data import ORIENTATIONS, b_start, backgrounds
from xai_widgets.data.encoding import reverse_complement
from xai_widgets.data.motifs import get_motif
from xai_widgets.methods import motif_effects, spacing_sweep

MODEL = "basset_relu_cooperative_grammar"


def tangermeme_sweep(space, model, X, a: str, b: str, position_a: int, spacings, batch_size: int) -> torch.Tensor:
    """``f(AB) - f(bg)`` per background, orientation and spacing from tangermeme's ``space``,
    ``(N, 4, S)`` (NaN where B falls off)."""
    length = X.shape[2]
    out = torch.full((X.shape[0], len(ORIENTATIONS), len(spacings)), float("nan"))
    for o, orientation in enumerate(ORIENTATIONS):
        motif_a = a if orientation[0] == "+" else reverse_complement(a)
        motif_b = b if orientation[1] == "+" else reverse_complement(b)
        right, left = [], []
        for j, s in enumerate(spacings):
            start = b_start(position_a, s, orientation=orientation, width_a=len(a), width_b=len(b))
            if 0 <= start and start + len(b) <= length:
                (right if start > position_a else left).append((j, abs(s), start))
        if right:
            y_before, y_after = space(model, X, [motif_a, motif_b], [[gap] for _, gap, _ in right],
                                      start=position_a, device="cpu", batch_size=batch_size)
            out[:, o, [j for j, _, _ in right]] = (y_after - y_before[:, None])[..., 0]
        if left:
            if min(start for *_, start in left) < 1:
                raise ValueError("B at position 0 needs a call per spacing; use a shorter spacing range")
            y_before, y_after = space(model, X, ["N", motif_b, motif_a],
                                      [[start - 1, gap] for _, gap, start in left], start=0, device="cpu",
                                      batch_size=batch_size)
            out[:, o, [j for j, _, _ in left]] = (y_after - y_before[:, None])[..., 0]
    return out


def tangermeme_gia(marginalize, model, X, motifs: dict, batch_size: int) -> torch.Tensor:
    """``f(bg + motif) - f(bg)`` per motif and background, ``(M, N)``, one ``marginalize`` call each."""
    rows = []
    for motif in motifs.values():
        y_before, y_after = marginalize(model, X, motif, device="cpu", batch_size=batch_size)
        rows.append((y_after - y_before)[:, 0])
    return torch.stack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=100, help="number of backgrounds")
    parser.add_argument("--max-spacing", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--tangermeme-batch-size", type=int, default=128,
                        help="tangermeme's predict batch (its default is 32; each space step predicts N sequences)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--with-naive", action="store_true", help="also time our plain (forward-pass) sweep")
    add_load_arguments(parser)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    with cpu_load(args) as load:
        rows(args, load)


def rows(args, load) -> None:
    from tangermeme.marginalize import marginalize
    from tangermeme.space import space
    model = zoo.load(MODEL, device="cpu")
    length = model.card["task"]["length"]
    X = backgrounds(args.n, length, random_state=0)
    spacings = list(range(-args.max_spacing, args.max_spacing + 1))
    spi1, irf1 = get_motif("Spi1").consensus, get_motif("Irf1").consensus
    position_a = length // 2 - len(spi1) // 2
    gia_motifs = {name: get_motif(name).consensus for name in ("Spi1", "Irf1", "CTCF", "REST")}

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {load_note(load)}", flush=True)
    print(f"# model {MODEL}, L={length}, N={args.n} backgrounds, {len(spacings)} spacings x 4 orientations, "
          f"A=Spi1 {spi1} at {position_a}, B=Irf1 {irf1}")

    def ours_pair():  # the same quantity as tangermeme: f(AB) - f(bg) only
        return spacing_sweep(model, X, motif_a=spi1, motif_b=irf1, spacings=spacings, position_a=position_a,
                             device="cpu", batch_size=args.batch_size, singles=False)

    def ours_full():  # the default: also f(B) - f(bg) at every position and the cooperativity ratio
        return spacing_sweep(model, X, motif_a=spi1, motif_b=irf1, spacings=spacings, position_a=position_a,
                             device="cpu", batch_size=args.batch_size)

    def theirs_sweep():
        return tangermeme_sweep(space, model, X, spi1, irf1, position_a, spacings, args.tangermeme_batch_size)

    (ours_ms, full_ms, theirs_ms), (ours, full, theirs) = alternate([ours_pair, ours_full, theirs_sweep],
                                                                     args.repeats)
    assert torch.equal(torch.isnan(theirs), ~ours.valid[None].expand_as(theirs))
    valid = ~torch.isnan(theirs)
    sweep_diff = float((ours.per_background - theirs)[valid].abs().max())
    full_diff = float((full.per_background - theirs)[valid].abs().max())
    orientation, spacing = full.peak()
    n_alone = len({(full.orientations[o][1], int(full.b_start[o, j])) for o, j in full.valid.nonzero().tolist()})
    naive_line = None
    if args.with_naive:
        naive_ms, naive = median_ms(lambda: spacing_sweep(model, X, motif_a=spi1, motif_b=irf1, spacings=spacings,
                                                          method="naive", position_a=position_a, device="cpu",
                                                          singles=False,
                                                          batch_size=args.batch_size), 1)
        naive_diff = float((naive.per_background - theirs)[valid].abs().max())
        naive_line = (f"{'  ours, plain path (forward passes)':38s} {naive_ms / 1000:8.3f} {theirs_ms / 1000:13.3f} "
                      f"{theirs_ms / naive_ms:9.1f} {naive_diff:11.2e}")

    def ours_gia():
        return motif_effects(model, X, motifs=gia_motifs, device="cpu", batch_size=args.batch_size)

    def theirs_gia():
        return tangermeme_gia(marginalize, model, X, gia_motifs, args.tangermeme_batch_size)

    (gia_ms, tm_gia_ms), (gia, tm_gia) = alternate([ours_gia, theirs_gia], args.repeats)
    gia_diff = float((gia.effect - tm_gia).abs().max())

    print(f"\n{'experiment':38s} {'ours s':>8s} {'tangermeme s':>13s} {'speed-up':>9s} {'max |diff|':>11s}")
    print(f"{'spacing sweep, f(AB) - f(bg)':38s} {ours_ms / 1000:8.3f} {theirs_ms / 1000:13.3f} "
          f"{theirs_ms / ours_ms:9.1f} {sweep_diff:11.2e}")
    print(f"{'  ours with singles (the default)':38s} {full_ms / 1000:8.3f} {theirs_ms / 1000:13.3f} "
          f"{theirs_ms / full_ms:9.1f} {full_diff:11.2e}")
    if naive_line:
        print(naive_line)
    print(f"{'GIA, 4 motifs, f(bg + m) - f(bg)':38s} {gia_ms / 1000:8.3f} {tm_gia_ms / 1000:13.3f} "
          f"{tm_gia_ms / gia_ms:9.1f} {gia_diff:11.2e}")
    at_peak = (full.orientations.index(orientation), spacings.index(spacing))
    print(f"\nsweep: {int(valid[0].sum())} (orientation, spacing) pairs computed by both, "
          f"{len(full.skipped)} skipped; with singles ours also computes B alone at {n_alone} (strand, position) "
          f"pairs and A alone on both strands; path={full.path}; peak {orientation} {spacing:+d}, effect "
          f"{float(full.effect[at_peak]):.3f}, "
          f"cooperativity {float(full.cooperativity[at_peak]):.2f}"
          f" (planted: +2 on the same strand at gaps 4..12)")
    print("GIA means: " + ", ".join(f"{name} {value:+.3f}" for name, value in gia.as_dict().items()))
    print(f"RESULT sweep_with_singles ours_s={full_ms / 1000:.3f} tangermeme_s={theirs_ms / 1000:.3f} "
          f"speedup={theirs_ms / full_ms:.1f} max_abs_diff={full_diff:.2e} {load_fields(load)}")
    print(f"RESULT sweep ours_s={ours_ms / 1000:.3f} tangermeme_s={theirs_ms / 1000:.3f} "
          f"speedup={theirs_ms / ours_ms:.1f} max_abs_diff={sweep_diff:.2e} {load_fields(load)}")
    print(f"RESULT gia ours_s={gia_ms / 1000:.3f} tangermeme_s={tm_gia_ms / 1000:.3f} "
          f"speedup={tm_gia_ms / gia_ms:.1f} max_abs_diff={gia_diff:.2e} {load_fields(load)}")


if __name__ == "__main__":
    main()
