# %% [markdown]
# # 04 · Editing a sequence: in-silico mutagenesis and the NucleotideFlipper
#
# **Time:** about 20 minutes. **Needs:** tutorial 01.
#
# **Learning goals.** After this notebook you can
# 1. compute an in-silico mutagenesis (ISM) map: the model's change for every single-base substitution;
# 2. read it as a heatmap and as a sequence logo, with the planted motifs marked;
# 3. edit a sequence interactively and see the prediction and the attribution follow;
# 4. compare ISM with gradient methods on the same sequence.
#
# The review by Novakovsky et al. (2022) calls ISM a *perturbation-based propagation* method: it asks the
# model directly what happens if a base were different. For **single substitutions** it is exact: the
# model's own answer, no approximation. It is not the whole truth: when a motif is present twice
# (**redundancy**), mutating one copy changes little; when the output is already saturated, one
# substitution moves it little although the motif matters. And with the fast incremental computation used here it takes
# tens of milliseconds for a 1,000-nt sequence, fast enough to redo after every click.

# %%
import torch

from xai_widgets import data, plots, zoo
from xai_widgets.methods import saturation_mutagenesis
from xai_widgets.widgets import NucleotideFlipper

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()  # load BokehJS from the installed package: works offline

# %% [markdown]
# ## 1. A model and a sequence with known motifs
#
# We use the zoo's Basset-style CNN with an exponential first layer, trained on `motif_presence`
# (12 outputs, one per planted transcription factor). A fresh draw of the task gives sequences the
# model has never seen, with every planted instance recorded.

# %%
# NBVAL_CHECK_OUTPUT
model = zoo.load("basset_exp_motif_presence", device=device)
task = data.motif_presence(n=200, random_state=5)
i = 0
instances = task.instances.for_sequence(i)
print(instances)
target = task.target_names.index(instances[0][0])
print("explaining output", target, task.target_names[target])

# %% [markdown]
# ## 2. Saturation mutagenesis
#
# `saturation_mutagenesis` predicts all 3 x L substitutions. `delta[i, b, l]` is the prediction with
# base `b` at position `l` minus the prediction of the original sequence (so 0 at the original base).
# The usual attribution centres each position over the four bases and keeps the observed base.

# %%
# NBVAL_CHECK_OUTPUT
X = task.X[i : i + 1]
ism = saturation_mutagenesis(model, X, target=target, device=device)
print(ism.delta.shape, ism.path)
scores = ism.values[0].sum(0)          # one score per position
top = int(scores.argmax())
name, start, end, strand = instances[0]
print(f"highest-scoring position {top}: inside the planted {name} ({start}-{end})? {start <= top < end}")

# %% [markdown]
# Plots work without widgets: the logo (letter height = attribution), the ISM heatmap (blue: the
# substitution lowers the prediction) and the planted instances shaded, on one shared x axis.
# Scroll to zoom, drag to pan; hover over a letter or a cell for its value.

# %%
plots.show_attribution(X, ism.values[0], delta=ism.delta[0], instances=instances, window=None)

# %% [markdown]
# **What you should see:** tall letters inside the shaded MEF2A box (33-43) and dark blue heatmap cells there; the
# predictions here are logits, so a delta of -2 is a large change in log-odds.

# %% [markdown]
# ## 3. The NucleotideFlipper
#
# Click a letter of the sequence track to turn it into the next base, or a heatmap cell to make that
# exact substitution. The prediction, the ISM heatmap and the logo are recomputed after every click.
# **Undo**, **redo** and **reset** walk the history (plotted at the bottom); **knock out** shuffles the
# selected span and **restore** puts its original bases back. The *logo* menu switches the attribution
# method.

# %%
flipper = NucleotideFlipper(model, X, target=target, instances=instances, device=device)
flipper

# %% [markdown]
# **What you should see:** the same tracks as above plus the prediction and a history plot; each click adds a point
# to the history, and **undo** takes it back.

# %% [markdown]
# Python state is the truth: everything the widget shows can be read (and driven) from code.
# Knocking out the planted motif should lower the prediction for its factor.

# %%
# NBVAL_CHECK_OUTPUT
before = flipper.prediction
flipper.knock_out(start, end)
print(flipper.history[-1].label)
print("prediction dropped:", flipper.prediction < before)
flipper.reset()  # back to the start with an empty history: the widget shows only your own edits
print("back to the start:", flipper.sequence == data.decode(X)[0])

# %% [markdown]
# ### Exercise
#
# Which single substitution lowers the prediction most? Find it in `flipper.ism.delta` (shape
# `(1, 4, L)`), make it with `flipper.edit(position, base)`, and check that the new prediction equals
# the old one plus that delta.

# %%
# your answer: position (an int) and base (one of "ACGT"); hint: argmin over the flattened (4, L) delta
### BEGIN SOLUTION position, base
flat = int(flipper.ism.delta[0].argmin())
position, base = flat % X.shape[2], "ACGT"[flat // X.shape[2]]
### END SOLUTION

# %% tags=["check"]
assert position is not ... and base is not ..., "replace each ... above with your answer"
delta = saturation_mutagenesis(model, X, target=target, device=device).delta[0]   # recomputed, without the widget
assert base in ("A", "C", "G", "T") and 0 <= int(position) < delta.shape[1], "position: 0..L-1, base: A, C, G or T"
yours = float(delta["ACGT".index(base), int(position)])
assert abs(yours - float(delta.min())) < 1e-6, \
    f"{position}{base} changes the logit by {yours:+.2f}; another substitution lowers it more"
before = flipper.prediction
flipper.edit(int(position), base)
assert abs(flipper.prediction - (before + yours)) < 1e-4, \
    "the flipper's prediction should move by exactly the ISM delta"
print(f"correct: {position}{base} lowers the logit by {-yours:.2f}")
flipper.reset()

# %% [markdown]
# ## 4. Other attribution methods on the same sequence
#
# Gradient methods need one backward pass instead of 3 x L forward passes. Switch the *logo* menu
# above, or set `flipper.method`; the next tutorial looks at them closely.

# %%
# NBVAL_CHECK_OUTPUT
for method in flipper.available_methods:
    flipper.method = method
    inside = flipper.attribution.abs().sum(0)[start:end].sum() / flipper.attribution.abs().sum()
    print(f"{method:22s} share of |attribution| inside the motif: {float(inside):.1f}")
flipper.method = "ism"

# %% [markdown]
# ## Summary
#
# - ISM is exact **for single substitutions**: the model's own answer to "what if this base were
#   different". It misses what only shows with several edits: redundant copies of a motif, and outputs
#   already saturated, where one edit moves the logit little.
# - For convolutional models a substitution changes only a window of each layer; computing just those
#   windows makes a full map fast enough for interactive work.
# - The flipper keeps its state in Python (`sequence`, `history`, `ism`, `attribution`), so what you
#   find by clicking can be reproduced in code.
#
# ## What can go wrong
#
# - **Redundancy:** with two copies of a motif, knocking out one barely moves the prediction; ISM then
#   calls both unimportant. Knock out spans (`flipper.knock_out`) or use pairwise ISM (tutorial 06).
# - **Saturation:** far above the decision boundary, one substitution changes the logit little.
# - **Off-distribution edits:** a knocked-out span is a random shuffle; the model may react to the new
#   bases, not only to the lost motif. Repeat with other shuffles before trusting a small effect.
# - **Logits:** the deltas are in log-odds; the same delta means a different change of probability
#   near 0.5 than near 0 or 1.
