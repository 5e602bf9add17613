# %% [markdown]
# # 11 · A profile model: BPNet on CTCF
#
# **Time:** about 15 minutes. **Needs:** tutorials 02 and 05.
#
# **Learning goals.** After this notebook you can
# 1. explain the two heads of a profile model: total counts and the profile's shape;
# 2. compare counts and profile attributions on real CTCF ChIP-seq peaks;
# 3. recover the CTCF motif from attributions alone and name it with Tomtom.
#
# BPNet (Avsec et al. 2021) maps 2,114 bp to a base-resolution ChIP-seq profile (1,000 bp, two
# strands) and the total log counts. The zoo's adapted model gives two outputs: `0: counts` and
# `1: profile` (a scalar whose gradient is the profile attribution of Avsec et al.).

# %%
import numpy as np
import torch

from xai_widgets import zoo
from xai_widgets.data import Motif, backgrounds, chip_peaks, jaspar_motifs
from xai_widgets.methods import gradient_x_input, tomtom_matches

torch.set_num_threads(2)
model = zoo.load("bpnet_ctcf", device="cpu")
print(model.output_names)
peaks = chip_peaks()                       # 100-bp windows at CTCF ChIP-seq summits
n, start = 24, 1007                         # each peak placed in the middle of 2,114 bp of random DNA
X = backgrounds(n, 2114, random_state=0)
X[:, :, start:start + 100] = peaks.X[:n]
print(peaks, "->", tuple(X.shape))

# %% [markdown]
# ## 1. Counts vs profile attributions
#
# Gradient x input for each head. Where does the attribution sit? The peak is 100 bp of 2,114.

# %%
# NBVAL_CHECK_OUTPUT
attributions = {name: gradient_x_input(model, X, target=t, device="cpu") for t, name in enumerate(model.output_names)}
for name, a in attributions.items():
    pp = a.per_position().abs()
    share = (pp[:, start:start + 100].sum(1) / pp.sum(1)).mean()
    print(f"{name:8s}: {share:.0%} of |attribution| in the 100-bp peak (4.7 % of the input)")

# %% [markdown]
# Both heads concentrate on the peak. The counts head puts more of its attribution there: the
# profile head also reads the flanks, which shape *where* reads fall but not how many.

# %% [markdown]
# ## 2. The CTCF motif, from attributions alone
#
# For each peak, the 19-bp window with the largest counts attribution; the windows are oriented
# like the first one and counted into a PPM. That first guess is blurred (the windows are not
# aligned), so we rescan each peak, both strands, with the PPM's log-odds and rebuild it twice
# (a small expectation-maximisation). Tomtom then names it against JASPAR 2024 CORE vertebrates.

# %%
W = 19


def rc(w):
    """The reverse complement of a (4, W) one-hot window (ACGT order: flip both axes)."""
    return w.flip(0).flip(1)


def motif_from(head):
    """The attribution-window motif of one head, refined by two rescans."""
    pp = attributions[head].per_position()[:, start:start + 100]
    windows = []
    for i in range(n):
        k = int(pp[i].unfold(0, W, 1).sum(1).argmax())
        windows.append(X[i, :, start + k:start + k + W])
    windows = [w if (w * windows[0]).sum() >= (rc(w) * windows[0]).sum() else rc(w) for w in windows]
    found = Motif.from_counts(f"{head} attribution windows", torch.stack(windows).sum(0).numpy(), pseudocount=0.5)
    for _ in range(2):
        log_odds = torch.tensor(found.log_odds(), dtype=torch.float32)
        best = []
        for i in range(n):
            segment = X[i, :, start:start + 100]
            scored = [(float((s[:, k:k + W] * log_odds).sum()), k, s) for s in (segment, rc(segment))
                      for k in range(100 - W + 1)]
            _, k, s = max(scored, key=lambda item: item[0])
            best.append(s[:, k:k + W])
        found = Motif.from_counts(f"{head} attribution windows", torch.stack(best).sum(0).numpy(), pseudocount=0.5)
    return found


motif = motif_from("counts")

# %%
# NBVAL_CHECK_OUTPUT
print("consensus:", motif.consensus, f"({motif.information_content().sum():.1f} bits)")
matches = tomtom_matches([motif], jaspar_motifs(), n_best=3)[0]
for m in matches:
    print(f"{m.target:8s} {m.target_id:10s} p = {m.p_value:.1e}")

# %% [markdown]
# ## Exercise
#
# Build the motif from the **profile** attributions (`motif_from("profile")`) and name it with Tomtom
# as above. Does the profile head recover CTCF as well? Set `same_motif` to True or False.

# %%
# your answer: True or False; hint: tomtom_matches([motif_from("profile")], jaspar_motifs(), n_best=1)
### BEGIN SOLUTION same_motif
profile_matches = tomtom_matches([motif_from("profile")], jaspar_motifs(), n_best=1)[0]
same_motif = len(profile_matches) > 0 and profile_matches[0].target == "CTCF"
### END SOLUTION

# %% tags=["check"]
assert same_motif is not ..., "replace ... above with your answer"
best = tomtom_matches([motif_from("profile")], jaspar_motifs(), n_best=1)[0]  # recomputed here
truth = len(best) > 0 and best[0].target == "CTCF"
assert bool(same_motif) == truth, \
    f"not quite: the profile motif's best match is {best[0].target if len(best) else 'none'}"
print("correct: the profile motif's best match is", best[0].target if len(best) else "none")

# %% [markdown]
# **Take-aways.** A profile model has two questions to explain (how much, and where); their
# attributions overlap on the motif but differ in the flanks. A few dozen peaks and a top-window
# search are enough to recover CTCF's motif from attributions, with no motif given to the method;
# TF-MoDISco (`methods.discovery`) does this at scale.
