"""Write tutorials/11_bpnet_ctcf.ipynb (then run scripts/execute_tutorials.py on it)."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 11 · A profile model: BPNet on CTCF

**Time:** about 15 minutes. **Needs:** tutorials 02 and 05.

**Learning goals.** After this notebook you can
1. explain the two heads of a profile model: total counts and the profile's shape;
2. compare counts and profile attributions on real CTCF ChIP-seq peaks;
3. recover the CTCF motif from attributions alone and name it with Tomtom.

BPNet (Avsec et al. 2021) maps 2,114 bp to a base-resolution ChIP-seq profile (1,000 bp, two
strands) and the total log counts. The zoo's adapted model gives two outputs: `0: counts` and
`1: profile` (a scalar whose gradient is the profile attribution of Avsec et al.)."""),
    code("""import numpy as np
import torch
from xai_widgets import zoo
from xai_widgets.data import Motif, chip_peaks, jaspar_motifs
from xai_widgets.methods import gradient_x_input, tomtom_matches
from xai_widgets.methods.gia import backgrounds

torch.set_num_threads(2)
model = zoo.load("bpnet_ctcf", device="cpu")
print(model.output_names)
peaks = chip_peaks()                       # 100-bp windows at CTCF ChIP-seq summits
n, start = 24, 1007                         # each peak placed in the middle of 2,114 bp of random DNA
X = backgrounds(n, 2114, random_state=0)
X[:, :, start:start + 100] = peaks.X[:n]
print(peaks, "->", tuple(X.shape))"""),
    md("""## 1. Counts vs profile attributions

Gradient x input for each head. Where does the attribution sit? The peak is 100 bp of 2,114."""),
    code("""# NBVAL_CHECK_OUTPUT
attributions = {name: gradient_x_input(model, X, target=t, device="cpu") for t, name in enumerate(model.output_names)}
for name, a in attributions.items():
    pp = a.per_position().abs()
    share = (pp[:, start:start + 100].sum(1) / pp.sum(1)).mean()
    print(f"{name:8s}: {share:.0%} of |attribution| in the 100-bp peak (4.7 % of the input)")"""),
    md("""Both heads concentrate on the peak. The counts head puts more of its attribution there: the
profile head also reads the flanks, which shape *where* reads fall but not how many."""),
    md("""## 2. The CTCF motif, from attributions alone

For each peak, the 19-bp window with the largest counts attribution; the windows are oriented
like the first one and counted into a PPM. That first guess is blurred (the windows are not
aligned), so we rescan each peak, both strands, with the PPM's log-odds and rebuild it twice
(a small expectation-maximisation). Tomtom then names it against JASPAR 2024 CORE vertebrates."""),
    code("""W = 19
pp = attributions["counts"].per_position()[:, start:start + 100]
windows = []
for i in range(n):
    k = int(pp[i].unfold(0, W, 1).sum(1).argmax())
    windows.append(X[i, :, start + k:start + k + W])
rc = lambda w: w.flip(0).flip(1)            # reverse complement of a (4, W) one-hot window
windows = [w if (w * windows[0]).sum() >= (rc(w) * windows[0]).sum() else rc(w) for w in windows]
motif = Motif.from_counts("attribution windows", torch.stack(windows).sum(0).numpy(), pseudocount=0.5)
for _ in range(2):
    log_odds = torch.tensor(motif.log_odds(), dtype=torch.float32)
    best = []
    for i in range(n):
        segment = X[i, :, start:start + 100]
        scored = [(float((s[:, k:k + W] * log_odds).sum()), k, s) for s in (segment, rc(segment))
                  for k in range(100 - W + 1)]
        _, k, s = max(scored, key=lambda item: item[0])
        best.append(s[:, k:k + W])
    motif = Motif.from_counts("attribution windows", torch.stack(best).sum(0).numpy(), pseudocount=0.5)"""),
    code("""# NBVAL_CHECK_OUTPUT
print("consensus:", motif.consensus, f"({motif.information_content().sum():.1f} bits)")
matches = tomtom_matches([motif], jaspar_motifs(), n_best=3)[0]
for m in matches:
    print(f"{m.target:8s} {m.target_id:10s} p = {m.p_value:.1e}")"""),
    md("""## Exercise

Repeat section 2 with the **profile** attributions (replace `"counts"` by `"profile"` in the first
line of the cell) and run the Tomtom cell again. Does the profile head recover CTCF as well? Set
`same_motif` to True or False below."""),
    code("""same_motif = True   # your answer"""),
    code("""# NBVAL_CHECK_OUTPUT
# self-check: the best Tomtom match of the motif you built last
print("best match:", matches[0].target if len(matches) else "none")
print("correct" if same_motif == (len(matches) > 0 and matches[0].target == "CTCF") else "not yet: look at the best match")"""),
    md("""**Take-aways.** A profile model has two questions to explain (how much, and where); their
attributions overlap on the motif but differ in the flanks. A few dozen peaks and a top-window
search are enough to recover CTCF's motif from attributions, with no motif given to the method;
TF-MoDISco (`methods.discovery`) does this at scale."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nbf.write(nb, "tutorials/11_bpnet_ctcf.ipynb")
