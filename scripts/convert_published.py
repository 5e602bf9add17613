"""Convert the two published models in ``../shared/realdata`` into zoo weights and model cards.

    python scripts/convert_published.py            # write weights/{deepstarr,bpnet_ctcf}.{pt,json}
    python scripts/convert_published.py --check    # recompute, compare with the shipped files
    python scripts/convert_published.py --source /path/to/realdata

Only plain ``state_dict`` files are read (``torch.load(..., weights_only=True)``); the pickled
bpnet-lite model is never loaded here (the tests use it, through bpnet-lite, as an oracle).

- DeepSTARR: the Keras port reads A, C, T, G channels; the permutation is folded into
  ``conv1`` so the shipped model reads ACGT. The Keras (position-major) flatten is part of
  :class:`xai_widgets.zoo.published.DeepSTARR`. Measured: Pearson r on the 3,000 shipped fly
  sequences, and on the two traps (no permutation; channel-major flatten).
- BPNet (CTCF, K562): the state_dict loads as is into :class:`~xai_widgets.zoo.published.BPNet`.
  Measured: real CTCF peaks (100 bp) placed at the centre of random 2,114-bp backgrounds
  against their dinucleotide shuffles in the same backgrounds: fraction of pairs where the
  peak gets higher predicted log counts.
"""

import argparse
import csv
import gzip
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import torch

from xai_widgets.adapt import acgt_weight
from xai_widgets.data import dinucleotide_shuffle, one_hot
from xai_widgets.metrics import pearson
from xai_widgets.zoo.published import DEEPSTARR_SOURCE_ALPHABET, BPNet, DeepSTARR

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "xai_widgets" / "zoo" / "weights"
DEFAULT_SOURCE = ROOT.parent / "shared" / "realdata"
CTCF_PAIRS, CTCF_SEED = 300, 0
TOLERANCE = 1e-4


def read_fly_enhancers(source: Path):
    """The 3,000 DeepSTARR sequences: one-hot ``(3000, 4, 249)``, targets ``(3000, 2)`` (dev, hk)."""
    seqs, y = [], []
    for split in ("train", "val", "test"):
        with open(source / "deepstarr" / f"fly_enhancers_sample_{split}.tsv", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                seqs.append(row["Sequence"])
                y.append([float(row["Dev_log2_enrichment"]), float(row["Hk_log2_enrichment"])])
    return one_hot(seqs), torch.tensor(y)


def read_fasta_gz(path: Path) -> list[str]:
    """Sequences of a gzipped FASTA file, in file order."""
    seqs = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                seqs.append("")
            elif seqs:
                seqs[-1] += line.strip()
    return seqs


def peaks_in_backgrounds(peaks: list[str], n: int, length: int, seed: int):
    """``n`` peaks (no N) at the centre of random backgrounds, and their dinucleotide shuffles in
    the same backgrounds: two one-hot tensors ``(n, 4, length)``."""
    rng = np.random.default_rng(seed)
    clean = [p for p in peaks if set(p.upper()) <= set("ACGT")]
    chosen = one_hot([clean[i] for i in rng.choice(len(clean), size=n, replace=False)])
    shuffled = dinucleotide_shuffle(chosen, random_state=seed)[:, 0]
    background = torch.nn.functional.one_hot(torch.from_numpy(rng.integers(0, 4, (n, length))), 4)
    background = background.permute(0, 2, 1).float()
    start = (length - chosen.shape[2]) // 2
    with_peak, with_shuffle = background.clone(), background.clone()
    with_peak[:, :, start : start + chosen.shape[2]] = chosen
    with_shuffle[:, :, start : start + chosen.shape[2]] = shuffled
    return with_peak, with_shuffle


def environment() -> dict:
    return {"torch": torch.__version__, "python": platform.python_version(), "device": "cpu",
            "threads": torch.get_num_threads()}


@torch.no_grad()
def convert_deepstarr(source: Path):
    raw = torch.load(source / "deepstarr" / "deepstarr_keras_port_ACTG.pth", map_location="cpu", weights_only=True)
    state = dict(raw)
    state["conv1.weight"] = acgt_weight(raw["conv1.weight"], DEEPSTARR_SOURCE_ALPHABET)
    model = DeepSTARR().eval()
    model.load_state_dict(state)
    X, y = read_fly_enhancers(source)
    pred = model(X)
    trap_alphabet = DeepSTARR().eval()
    trap_alphabet.load_state_dict(raw)
    pred_alphabet = trap_alphabet(X)
    h = X
    for layer in model.local_plan().layers:
        h = layer(h)
    pred_flatten = model.dense_head(h.flatten(1))  # torch's channel-major flatten: the second trap

    def r(p):
        return {"dev": round(pearson(p[:, 0], y[:, 0]), 4), "hk": round(pearson(p[:, 1], y[:, 1]), 4)}

    card = {
        "name": "deepstarr",
        "description": "DeepSTARR: developmental and housekeeping enhancer activity (log2 STARR-seq enrichment) "
                       "of 249-bp Drosophila sequences in S2 cells.",
        "architecture": "deepstarr",
        "config": dict(model.config),
        "task": {"name": "deepstarr_s2_enhancers", "length": 249, "kind": "regression",
                 "target_names": ["dev", "hk"],
                 "targets": {"dev": "developmental enhancer activity, log2 STARR-seq enrichment (S2 cells)",
                             "hk": "housekeeping enhancer activity, log2 STARR-seq enrichment (S2 cells)"}},
        "source": {
            "paper": "de Almeida BP, Reiter F, Pagani M, Stark A. DeepSTARR predicts enhancer activity from DNA "
                     "sequence and enables the de novo design of synthetic enhancers. Nat Genet 54, 613-624 (2022).",
            "doi": "10.1038/s41588-022-01048-5",
            "weights": "PyTorch port of the authors' Keras model: github aszymik/deep-starr @aba7f10e, "
                       "compare_keras_and_pytorch/pytorch_weights.pth",
            "commit": "aba7f10e",
            "licence": "MIT (DeepSTARR: Copyright (c) 2021 Bernardo P. de Almeida; PyTorch port: Copyright (c) "
                       "2025 Anna Szymik)",
            "conversion": "scripts/convert_published.py: conv1 input channels reordered ACTG -> ACGT; all other "
                          "tensors unchanged; batch-norm eps 1e-3 (Keras default)",
        },
        "channel_order": {"source": DEEPSTARR_SOURCE_ALPHABET, "shipped": "ACGT",
                          "flatten": "Keras (position-major): h.transpose(1, 2).flatten(1), 15 x 120 = 1800"},
        "metrics": {
            "fly_enhancers_3000": {
                "pearson": r(pred), "n": len(X),
                "data": "fly_enhancers_sample_{train,val,test}.tsv: 3 x 1,000 sequences from github "
                        "de-Boer-Lab/random-promoter-dream-challenge-2022 @f7b2e197 (MIT); all were in "
                        "DeepSTARR's training split, so this is optimistic (paper, test set: 0.68 / 0.74)",
            },
            "trap_acgt_without_permutation": {"pearson": r(pred_alphabet)},
            "trap_channel_major_flatten": {"pearson": r(pred_flatten)},
        },
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "environment": environment(),
    }
    return model.state_dict(), card


@torch.no_grad()
def convert_bpnet(source: Path):
    state = torch.load(source / "bpnet_ctcf" / "bpnet_ctcf_k562_state_dict.pt", map_location="cpu",
                       weights_only=True)
    model = BPNet().eval()
    model.load_state_dict(state)
    length = model.config["input_length"]
    with_peak, with_shuffle = peaks_in_backgrounds(read_fasta_gz(source / "chipseq_peaks" / "ctcf.fa.gz"),
                                                   CTCF_PAIRS, length, CTCF_SEED)
    counts_peak = torch.cat([model(with_peak[i : i + 32])[1] for i in range(0, CTCF_PAIRS, 32)])[:, 0]
    counts_shuffle = torch.cat([model(with_shuffle[i : i + 32])[1] for i in range(0, CTCF_PAIRS, 32)])[:, 0]
    card = {
        "name": "bpnet_ctcf",
        "description": "BPNet (bpnet-lite) on CTCF ChIP-seq in K562 (ENCODE ENCSR000AKO): stranded base-resolution "
                       "profile and total log counts of the central 1,000 bp from 2,114 bp of sequence.",
        "architecture": "bpnet",
        "config": dict(model.config),
        "adapter": {"profile": "both"},
        "task": {"name": "ctcf_k562_chip", "length": length, "kind": "profile",
                 "target_names": ["counts", "profile"],
                 "targets": {"counts": "predicted log counts (both strands) in the central 1,000 bp",
                             "profile": "profile contribution: sum of softmax(logits).detach() * centred logits "
                                        "over strands and positions (xai_widgets.adapt.profile_contribution)"},
                 "raw_outputs": ["profile logits (N, 2, 1000)", "log counts (N, 1)"]},
        "source": {
            "paper": "Avsec Z, Weilert M, Shrikumar A, et al. Base-resolution models of transcription-factor binding "
                     "reveal soft motif syntax. Nat Genet 53, 354-366 (2021).",
            "doi": "10.1038/s41588-021-00782-6",
            "weights": "trained with bpnet-lite on ENCODE ENCSR000AKO: github jmschrei/bpnet-lite @f38bffce, "
                       "notebooks/bpnet/example.final.torch (saved here as a plain state_dict)",
            "commit": "f38bffce",
            "licence": "MIT (bpnet-lite: Copyright (c) 2020 Jacob Schreiber)",
            "conversion": "scripts/convert_published.py: state_dict loaded unchanged into zoo.published.BPNet",
        },
        "channel_order": {"source": "ACGT", "shipped": "ACGT"},
        "metrics": {
            "ctcf_peaks_vs_shuffles": {
                "fraction_higher": round(float((counts_peak > counts_shuffle).float().mean()), 4),
                "mean_log_count_difference": round(float((counts_peak - counts_shuffle).mean()), 4),
                "n_pairs": CTCF_PAIRS, "seed": CTCF_SEED,
                "data": "100-bp CTCF ChIP-seq peaks (hg19, github const-ae/Neural_Network_DNA_Demo @3404b374, MIT) "
                        "at the centre of uniform random 2,114-bp backgrounds vs their dinucleotide shuffles",
            },
        },
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "environment": environment(),
    }
    return model.state_dict(), card


def _compare(name: str, state: dict, card: dict) -> list[str]:
    problems = []
    shipped_state = torch.load(WEIGHTS / f"{name}.pt", map_location="cpu", weights_only=True)
    if list(shipped_state) != list(state):
        problems.append(f"{name}: state_dict keys differ")
    else:
        problems += [f"{name}: tensor {k} differs" for k in state if not torch.equal(shipped_state[k], state[k])]
    shipped = json.loads((WEIGHTS / f"{name}.json").read_text())

    def walk(a, b, path):
        if path in ("environment",):
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        elif isinstance(a, float) and isinstance(b, float):
            if not math.isclose(a, b, abs_tol=TOLERANCE):
                problems.append(f"{name}: {path} shipped {a} now {b}")
        elif a != b:
            problems.append(f"{name}: {path} shipped {a!r} now {b!r}")

    walk(shipped, json.loads(json.dumps(card)), "")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the realdata folder")
    parser.add_argument("--check", action="store_true", help="compare with the shipped files, write nothing")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    problems = []
    for name, convert in (("deepstarr", convert_deepstarr), ("bpnet_ctcf", convert_bpnet)):
        state, card = convert(args.source)
        print(name, json.dumps(card["metrics"]))
        if args.check:
            problems += _compare(name, state, card)
        else:
            torch.save(state, WEIGHTS / f"{name}.pt")
            (WEIGHTS / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    for problem in problems:
        print("MISMATCH", problem)
    if args.check:
        print("check:", "ok" if not problems else f"{len(problems)} mismatch(es)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
