# %% [markdown]
# # 08 · Pitfalls: when explanations mislead
#
# **Time:** about 15 minutes. **Needs:** tutorials 04-05.
#
# **Learning goals.** After this notebook you can
# 1. show that equally good models can explain the same sequence differently (non-identifiability);
# 2. catch a model that learned a shortcut, using its explanations;
# 3. explain why a weak model's attributions should not be trusted.
#
# The ground truth we planted makes every pitfall measurable.

# %%
import dataclasses

import torch

from xai_widgets import data, zoo
from xai_widgets.methods import saturation_mutagenesis
from xai_widgets.metrics import per_sequence_auroc

device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
task = data.attribution_benchmark(n=3000, random_state=2)
test = task.subset("test")
positives = torch.nonzero(test.y[:, 0] == 1).flatten()[:60]

def ism_auroc(model):
    scores = saturation_mutagenesis(model, test.X[positives], target=0, device=device).values.sum(1).abs()
    return float(per_sequence_auroc(scores, test.mask[positives]).nanmean())

def fit(task, seed):
    torch.manual_seed(seed)
    model = zoo.build("deepbind", n_targets=1, n_filters=32)
    zoo.train(model, task, epochs=4, lr=3e-3, random_state=seed, device=device, progress=False)
    return model.eval()


# %% [markdown]
# ## 1. Same data, same architecture, different seeds
#
# Three DeepBind-style models differ only in their random seed. They predict alike; do they explain
# alike?

# %%
# NBVAL_CHECK_OUTPUT
models = [fit(task, seed) for seed in (0, 1, 2)]
aurocs = [zoo.evaluate(m, task, split="test", device=device)["auroc"] for m in models]
print("test AUROC:", [round(a, 2) for a in aurocs])
maps = [saturation_mutagenesis(m, test.X[positives[:20]], target=0, device=device).values.sum(1) for m in models]
r = torch.corrcoef(torch.stack([mp.flatten() for mp in maps]))
print(f"attribution correlation between seeds: {r[0, 1]:.2f}, {r[0, 2]:.2f}, {r[1, 2]:.2f}")

# %% [markdown]
# The correlation is high where the motifs are, but individual positions differ. Report an explanation
# averaged over seeds, or at least check that your conclusion survives a second seed.

# %% [markdown]
# ## 2. A shortcut
#
# We plant an artefact: in the *training* data every positive sequence starts with `GGGGGGGG` (think of
# a batch effect or an adapter). The test data is clean.

# %%
# NBVAL_CHECK_OUTPUT
X = task.X.clone()
artefact = data.one_hot("GGGGGGGG")[0]
train_pos = torch.as_tensor(task.splits["train"])[task.y[task.splits["train"], 0] == 1]
X[train_pos, :, :8] = artefact
shortcut_task = dataclasses.replace(task, X=X)
cheater = fit(shortcut_task, 0)
print("AUROC on training data:", round(zoo.evaluate(cheater, shortcut_task, split="train", device=device)["auroc"], 2))
print("AUROC on clean test data:", round(zoo.evaluate(cheater, task, split="test", device=device)["auroc"], 2))

# %% [markdown]
# ### Exercise
#
# Use ISM on a few *training* positives to show where the cheater looks. What fraction of the total
# |attribution| falls on the first 8 positions (which are 4 % of the sequence)?

# Use the first 20 training positives, `rows = train_pos[:20]`, and per-position scores
# `saturation_mutagenesis(...).values.sum(1).abs()`.

# %%
rows = train_pos[:20]

# %%
# your answer: share (a float between 0 and 1)
### BEGIN SOLUTION share
imp = saturation_mutagenesis(cheater, X[rows], target=0, device=device).values.sum(1).abs()
share = float(imp[:, :8].sum() / imp.sum())
### END SOLUTION

# %% tags=["check"]
assert share is not ..., "replace the ... above with your answer"
scores = saturation_mutagenesis(cheater, X[rows], target=0, device=device).values.sum(1).abs()
expected = float(scores[:, :8].sum() / scores.sum())
assert abs(share - expected) < 1e-4, f"not the share on positions 0-7: yours {share:.3f}"
print(f"correct: {share:.0%} of the attribution sits on the artefact (4 % of the positions)")

# %% [markdown]
# ## 3. A good classifier, a poor explanation
#
# An explanation explains the *model*. The 4-epoch DeepBind models above classify well (test AUROC
# about 0.94), yet their ISM maps find the planted motifs far less often than the zoo's longer-trained
# Basset: a good AUROC does not mean the model relies on the whole motif. An untrained model's map is at
# chance, however good the method.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
untrained = zoo.build("deepbind", n_targets=1, n_filters=32).eval()
trained = zoo.load("basset_exp_attribution_benchmark", device=device)
print(f"ISM AUROC vs planted motifs: untrained {ism_auroc(untrained):.2f}, "
      f"4-epoch DeepBind {ism_auroc(models[0]):.2f}, zoo Basset-exp {ism_auroc(trained):.2f}")

# %% [markdown]
# ## What can go wrong (a checklist)
#
# - One seed is one explanation: repeat with another seed before you believe a detail.
# - A model can be right for the wrong reason: look at *where* it looks, on the training data too.
# - Check the model first (held-out performance, calibration); explanations of a weak model are noise.
# - Attributions are about the model, not the biology: confirm with experiments (or planted truth).
