"""Attributions at scale and motif discovery: throughput, ground truth, real model.

    python benchmarks/atscale.py --only throughput [--n 64]    # DeepSHAP, Basset, L = 1000
    python benchmarks/atscale.py --only truth [--n 5000]       # motif_presence, planted motifs
    python benchmarks/atscale.py --only decoys [--n 2000]      # attribution_benchmark decoys
    python benchmarks/atscale.py --only deepstarr              # DeepSTARR dev and hk on the fly sequences

throughput: ``methods.attribute_to_store`` with DeepSHAP (20 dinucleotide shuffles) of the zoo's
exponential Basset model (``basset_exp_motif_presence``, target CEBPB) on ``n`` random sequences
of 1000 nt, chunks of 16, in this process and on a 2-worker ``dask.distributed`` LocalCluster
(one thread per worker); sequences per second and peak resident memory (this process, and the
largest worker). Prints the projection for 10^6 sequences: ``10^6 / (rate per worker x
workers)``.

truth: DeepSHAP (10 shuffles) of the same model over ``n`` ``motif_presence`` sequences
(random_state 11), each attributed to the output of its first planted TF; ``discover_motifs``
(modisco-lite defaults, targets = the 12 planted matrices); ``planted_recovery``: motifs matched
by a positive pattern at Tomtom E < 0.1 and, for each, the fraction of its seqlets on a planted
instance. decoys: the ``basset_exp_attribution_benchmark`` model over the positives and
negatives of ``attribution_benchmark``; each pattern's best match among core + decoy matrices.
deepstarr: DeepSHAP of DeepSTARR (dev, hk) over the shipped fly enhancer sequences, patterns
matched against JASPAR 2024 CORE insects.

The last lines are RESULT lines.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from xai_widgets import data, zoo
from xai_widgets.evaluation import planted_recovery
from xai_widgets.methods.atscale import attribute_to_store
from xai_widgets.methods.discovery import discover_motifs


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(n: int, workdir: Path):
    from distributed import Client, LocalCluster

    from tests.helpers import random_one_hot

    model = zoo.load("basset_exp_motif_presence", device="cpu")
    X = random_one_hot(n, 1000, seed=0)
    kwargs = dict(target="CEBPB", chunk_size=16, random_state=0, options={"n_shuffles": 20})
    attribute_to_store(model, X[:2], store=workdir / "warm", client=None, **kwargs)  # measure warm
    t = time.perf_counter()
    attribute_to_store(model, X, store=workdir / "one", client=None, **kwargs)
    single = n / (time.perf_counter() - t)
    single_rss = _rss_mib()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        attribute_to_store(model, X[:4], store=workdir / "warm2", chunk_size=2, target="CEBPB", random_state=0,
                           options={"n_shuffles": 20})
        t = time.perf_counter()
        attribute_to_store(model, X, store=workdir / "two", **kwargs)
        dist = n / (time.perf_counter() - t)
        worker_rss = max(client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024).values())
    print(f"RESULT throughput single={single:.2f} seq/s two_workers={dist:.2f} seq/s "
          f"peak_rss_single={single_rss:.0f}MiB peak_rss_worker={worker_rss:.0f}MiB n={n} L=1000")
    hours = 1e6 / (dist / 2) / 3600  # dist / 2: the rate of one worker
    print(f"RESULT projection 1e6 sequences on one CPU worker of this machine: {hours:.0f} h; "
          f"on W workers of that speed: {hours:.0f}/W h")


def truth(n: int, workdir: Path):
    task = data.motif_presence(n=n, random_state=11)
    model = zoo.load("basset_exp_motif_presence", device="cpu")
    first = {}
    for s, m in zip(task.instances.sequence, task.instances.motif):
        first.setdefault(int(s), str(m))
    t = time.perf_counter()
    store = attribute_to_store(model, task, store=workdir / f"truth{n}", target=[first[i] for i in range(n)],
                               chunk_size=250, random_state=0, options={"n_shuffles": 10}, progress=True)
    t_attr = time.perf_counter() - t
    t = time.perf_counter()
    result = discover_motifs(store, database=task.motifs)
    t_modisco = time.perf_counter() - t
    recovery = planted_recovery(result, task.instances, motifs=task.motifs)
    print(recovery.to_string())
    found = recovery[recovery.recovered]
    print(f"RESULT truth n={n} matched={len(found)}/12 overlap>=0.8={int((found.overlap >= 0.8).sum())}/{len(found)} "
          f"min_overlap={found.overlap.min():.2f} deepshap_s={t_attr:.0f} modisco_s={t_modisco:.0f}")


def decoys(n: int, workdir: Path):
    from xai_widgets.data.tasks import ATTRIBUTION_CORE

    task = data.attribution_benchmark(n=n, random_state=11)
    model = zoo.load("basset_exp_attribution_benchmark", device="cpu")
    store = attribute_to_store(model, task, store=workdir / f"decoys{n}", target=0, chunk_size=250, random_state=0,
                               options={"n_shuffles": 10}, progress=True)
    result = discover_motifs(store, database=task.motifs)
    worst = []
    for p in result.patterns:
        best = p.best_match("pwm")
        if best is not None and best.e_value < 0.1:
            worst.append((p.name, best.target, best.target in ATTRIBUTION_CORE))
    decoy_hits = [w for w in worst if not w[2]]
    print(worst)
    print(f"RESULT decoys n={n} patterns_matched={len(worst)} best_match_is_decoy={len(decoy_hits)}")


def deepstarr(workdir: Path):
    fly = data.fly_enhancers()
    model = zoo.load("deepstarr", device="cpu")
    for target in ("dev", "hk"):
        store = attribute_to_store(model, fly, store=workdir / f"deepstarr_{target}", target=target, chunk_size=128,
                                   random_state=0, options={"n_shuffles": 10}, progress=True)
        result = discover_motifs(store, database="insects")
        table = result.table()
        print(table.to_string())
        names = sorted({m for m in table[(table.sign > 0) & (table.pwm_e_value < 0.1)].pwm_match})
        print(f"RESULT deepstarr target={target} positive_patterns={int((table.sign > 0).sum())} matches={names}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["throughput", "truth", "decoys", "deepstarr"], required=True)
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--workdir", default=None, help="keep the stores here (resumable); default a temp dir")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="atscale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.only == "throughput":
        throughput(args.n or 64, workdir)
    elif args.only == "truth":
        truth(args.n or 5000, workdir)
    elif args.only == "decoys":
        decoys(args.n or 2000, workdir)
    else:
        deepstarr(workdir)


if __name__ == "__main__":
    main()
