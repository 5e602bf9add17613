# %% [markdown]
# # 02 · First-layer filters: what did the model learn to look for?
#
# **Time:** about 20 minutes. **Needs:** tutorial 01.
#
# **Learning goals.** After this notebook you can
# 1. turn a first-layer convolution filter into a motif, from its weights and from the sequences that
#    activate it, and say why the second is the one to trust;
# 2. annotate filters against JASPAR with Tomtom and read p-, E- and q-values;
# 3. ablate filters and measure how much the model needs each one, with the FilterGallery;
# 4. recognise redundant filters, and why the first-layer activation matters (exponential vs ReLU).
#
# This is the review's *model-based* family (Novakovsky et al. 2022, Fig. 2a-c): instead of explaining
# one prediction, we open the model and read its first layer, whose filters scan the DNA like
# position weight matrices.

# %%
import numpy as np
import torch

from xai_widgets import data, plots, zoo
from xai_widgets.evaluation import planted_motif_recovery
from xai_widgets.methods import (
    ablate_filters,
    filter_importance,
    filters_from_activations,
    filters_from_weights,
    tomtom_matches,
)
from xai_widgets.widgets import FilterGallery

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()

# %% [markdown]
# ## 1. A filter is a motif detector
#
# We use the Basset-style CNN with an **exponential** first-layer activation, trained on `motif_presence`
# (12 planted transcription-factor motifs). Its first convolution has 64 filters of width 19.

# %%
# NBVAL_CHECK_OUTPUT
model = zoo.load("basset_exp_motif_presence", device=device)
task = data.motif_presence(random_state=0)      # the data the model was trained on
test = task.subset("test")                      # held-out sequences
print(model.first_conv)
print(test)

# %% [markdown]
# ### From the weights
#
# The simplest transform: a softmax over the four bases at each position, `p = softmax(beta * W)`.
# **Caveat** (the review's Fig. 2a): the weights have no absolute scale (a batch norm can absorb any
# factor), so `beta` sets the information content arbitrarily. Compare shapes, not bits.

# %%
# NBVAL_CHECK_OUTPUT
weight_motifs = filters_from_weights(model, beta=1.0)
sharper = filters_from_weights(model, beta=3.0)
f = 3
print(f"filter {f}: {weight_motifs[f].information_content().sum():.1f} bits at beta=1, "
      f"{sharper[f].information_content().sum():.1f} bits at beta=3 -- same filter")

# %% [markdown]
# ### From the sequences that activate it
#
# The standard alternative: scan held-out sequences, keep every window where the filter's activation
# exceeds half of its maximum, align those windows and count the bases. The result is an ordinary
# position probability matrix with a number of sites behind it.

# %%
# NBVAL_CHECK_OUTPUT
motifs = filters_from_activations(model, test.X[:3000], threshold=0.5, device=device, progress=False)
print(f"filter {f}: {motifs[f].n_sites} sites, consensus {motifs[f].consensus}")

# %%
plots.show_logo(plots.information_logo(motifs[f].probabilities), title=f"filter {f} (activation PPM)",
               y_label="bits", width=500, height=160)

# %% [markdown]
# ## 2. Which transcription factor is it? Tomtom against JASPAR
#
# Tomtom compares a motif with every matrix of a database and gives a p-value per pair. With 879
# vertebrate matrices the **E-value** (p x 879) says how many matches that good you would expect by
# chance; the **q-value** corrects for testing many targets. E < 0.1 is the usual threshold.

# %%
# NBVAL_CHECK_OUTPUT
matches = tomtom_matches([motifs[f]], n_best=3)[0]
for m in matches:
    print(f"{m.target:10s} {m.target_id:9s} p={m.p_value:.1e}  E={m.e_value:.1e}  q={m.q_value:.1e}  strand {m.strand}")

# %% [markdown]
# Because we planted the motifs ourselves, we can check the whole first layer against the truth:
# for each planted motif, does some filter match **its own** JASPAR matrix with E < 0.1?

# %%
# NBVAL_CHECK_OUTPUT
recovered = planted_motif_recovery(motifs, task.motifs)
for name, hit in recovered.items():
    print(f"{name:7s}", "missed" if hit is None else f"filter {hit[0]:2d}  E={hit[1]:.0e}")
print("recovered:", sum(h is not None for h in recovered.values()), "of", len(recovered))

# %% [markdown]
# ## 3. Does the model need the filter? Ablation
#
# Silence a filter (set its activation to zero) and measure the held-out AUROC. The FilterGallery
# below sorts the filters by that effect. **Click a tile** to ablate that filter (click again to restore
# it); the readout shows the AUROC and the predictions of a few sequences, and the panel below lists the
# filter's JASPAR matches and its most activating sites. Try ablating the top three, then
# *ablate all but focused*.

# %%
gallery = FilterGallery(model, test, target=0, n_eval=1000, device=device)   # about 20 s: ablates each filter once
gallery

# %% [markdown]
# **What you should see:** a grid of 64 filter logos sorted by AUROC drop, the E-box filter first; clicking a tile
# greys it out and the AUROC readout falls a little (about 0.03 for the top filter, far less for most).

# %%
# NBVAL_CHECK_OUTPUT
top = gallery.order[0]
print("most important filter:", top, "->", gallery.matches[top][0].target, "(an E-box: the MAX motif, CACGTG)")
print(f"AUROC drop when ablated alone: {gallery.importance.drop[top]:.3f}")

# %% [markdown]
# ### Exercise
#
# Ablate **every filter that matches SP1** (E < 0.1 against SP1's matrix) at once. How much does the
# AUROC of the SP1 output fall, compared with ablating only the **best-matching** SP1 filter (the one
# with the smallest E-value)? The cell below gives you each filter's E-value and a function that
# ablates a list of filters and returns the SP1 AUROC.

# %%
from xai_widgets.evaluation import planted_e_values
from xai_widgets.metrics import auroc

e_sp1 = np.asarray(planted_e_values(motifs, {"SP1": task.motifs["SP1"]})["SP1"])  # one E-value per filter
sp1 = task.target_names.index("SP1")
X, y = test.X[:1000], test.y[:1000, sp1]

def sp1_auroc(filters):
    """SP1 AUROC on 1000 held-out sequences with these filters silenced."""
    return auroc(ablate_filters(model, X, filters=list(filters), device=device).predictions[:, sp1], y)

print(f"SP1 AUROC, nothing ablated: {sp1_auroc([]):.3f}")

# %%
# your answer; hint: np.flatnonzero(e_sp1 < 0.1) and np.argmin(e_sp1)
### BEGIN SOLUTION
sp1_filters = np.flatnonzero(e_sp1 < 0.1).tolist()
best_sp1 = int(np.argmin(e_sp1))
together, best_only = sp1_auroc(sp1_filters), sp1_auroc([best_sp1])
### END SOLUTION

# %% tags=["check"]
assert all(v is not ... for v in (sp1_filters, best_sp1, together, best_only)), "replace each ... above"
expected_filters = [k for k, e in enumerate(e_sp1) if e < 0.1]
expected_best = min(range(len(e_sp1)), key=lambda k: e_sp1[k])
assert sorted(int(k) for k in sp1_filters) == expected_filters, \
    f"not the SP1 filters: {len(expected_filters)} filters have E < 0.1"
assert int(best_sp1) == expected_best, "not the best-matching filter: take the smallest E-value"
assert abs(together - sp1_auroc(expected_filters)) < 1e-6, "`together` is not the AUROC with all SP1 filters ablated"
assert abs(best_only - sp1_auroc([expected_best])) < 1e-6, "`best_only` is not the AUROC with the best one ablated"
print(f"correct: {len(expected_filters)} SP1 filters; AUROC {together:.3f} with all ablated, "
      f"{best_only:.3f} with only filter {expected_best}")

# %% [markdown] tags=["answer"]
# **Example answer.** Ablating the best SP1 filter alone barely moves the SP1 AUROC, because other
# filters also detect SP1 (redundancy); ablating all of them together costs far more. A single-filter
# ablation therefore underestimates how much the model needs a motif.

# %% [markdown]
# ## 4. Why the exponential activation?
#
# The ReLU twin of this model classifies just as well, but its filters are far less readable
# (Koo & Ploenzke 2021): it spreads each motif over several partial filters.

# %%
# NBVAL_CHECK_OUTPUT
relu = zoo.load("basset_relu_motif_presence", device=device)
relu_recovered = planted_motif_recovery(filters_from_activations(relu, test.X[:3000], progress=False), task.motifs)
print("ReLU model recovers", sum(h is not None for h in relu_recovered.values()), "of 12 planted motifs")

# %% [markdown]
# ## What can go wrong
#
# - **Weight motifs depend on an arbitrary scale**: use activation motifs for annotation.
# - **Redundancy hides importance**: a motif learned by five filters survives any single ablation.
# - **A match is not a cause**: a filter matching a JASPAR motif shows what the model detects, not that
#   the factor binds there; and similar factors (CEBPB/CEBPE, GABPA/ELF1) match each other.
# - **Low-information motifs** (AT-rich Arid3a here) are hard for filters and for Tomtom alike.
