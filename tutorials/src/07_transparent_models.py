# %% [markdown]
# # 07 · Transparent models: units you can read directly
#
# **Time:** about 15 minutes. **Needs:** tutorial 02.
#
# **Learning goals.** After this notebook you can
# 1. explain how an ExplaiNN-style model is built so that each unit is interpretable on its own;
# 2. read each unit: its motif, its JASPAR match, and its weight in every output;
# 3. build a model from known motifs (JASPAR PWMs as fixed filters) and check what it uses.
#
# Instead of explaining a black box after training, *design* the model to be readable (the review's
# Fig. 5). ExplaiNN (Novakovsky et al. 2023) gives each unit one filter and its own small network, and
# combines the units' scalar outputs linearly: the prediction is a weighted sum you can inspect.

# %%
import numpy as np
import torch

from xai_widgets import data, plots, zoo
from xai_widgets.evaluation import planted_e_values
from xai_widgets.methods import unit_summaries

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()

# %% [markdown]
# ## 1. A model built from JASPAR motifs
#
# `explainn_jaspar_motif_presence` has 16 units. Units 0-11 had their filters **set to the 12 planted
# JASPAR motifs and frozen** before training (`ExplaiNN.init_filters_from_motifs(..., freeze=True)`);
# units 12-15 were free to learn anything. Only the rest of each unit and the final linear layer trained.

# %%
# NBVAL_CHECK_OUTPUT
model = zoo.load("explainn_jaspar_motif_presence", device=device)
card = zoo.model_card("explainn_jaspar_motif_presence")
print(card["description"])
print("test AUROC:", round(card["metrics"]["test"]["auroc"], 3))

# %% [markdown]
# ## 2. Read every unit
#
# `unit_summaries` gives each unit's motif (from the sequences that activate it), its best JASPAR
# match, its output weights, and, given labels, how well its contribution alone predicts each output
# (`contribution_auroc`: 0.5 = says nothing).

# %%
# NBVAL_CHECK_OUTPUT
task = data.motif_presence(random_state=0)
test = task.subset("test")
units = unit_summaries(model, test.X[:2000], y=test.y[:2000], device=device, progress=False)
for u in units:
    best = int(np.argmax(u.contribution_auroc))
    match = u.matches[0].target if u.matches else "-"
    print(f"unit {u.unit:2d}  match {match:12s}  most informative for {task.target_names[best]:7s} "
          f"(AUROC {u.contribution_auroc[best]:.2f})")

# %% [markdown]
# The fixed units' filters *are* the JASPAR matrices (frozen), yet the printed best match is not always
# the unit's own factor. Where it differs, it is a close relative from the same family (CEBPE for CEBPB
# and JDP2 for FOSL1 are bZIP factors; Mlxip and MAX both bind the CACGTG E-box): the motif shown is
# rebuilt from the sequences that activate the unit, and among 879 matrices a relative can match it
# slightly better. Read a match as "this family", not "this factor". What matters is the next cell: for every output,
# the unit carrying that factor's motif is the most informative one, so the model uses the motifs we gave it.

# %%
# NBVAL_CHECK_OUTPUT
aurocs = np.stack([u.contribution_auroc for u in units[:12]])
own = aurocs.argmax(0) == np.arange(12)
print("outputs read best by their own motif's unit:", int(own.sum()), "of 12")
print("not:", [task.target_names[t] for t in np.flatnonzero(~own)])

# %% [markdown]
# ### Exercise
#
# Which of the **free** units (12-15) is the most informative for some output (the largest
# `contribution_auroc`), and which JASPAR motif does it resemble (its best match)?

# %%
# your answer: best_free_unit (an int, 12-15) and resembles (a JASPAR name); hint: units[12:], .matches[0].target
### BEGIN SOLUTION best_free_unit, resembles
best_free = max(units[12:], key=lambda u: u.contribution_auroc.max())
best_free_unit, resembles = best_free.unit, best_free.matches[0].target
### END SOLUTION

# %% tags=["check"]
assert best_free_unit is not ... and resembles is not ..., "replace each ... above with your answer"
top = max((u for u in units if u.unit >= 12), key=lambda u: float(np.max(u.contribution_auroc)))
assert int(best_free_unit) == top.unit, f"unit {best_free_unit} is not the most informative free unit"
assert resembles == top.matches[0].target, f"unit {top.unit}'s best JASPAR match is not {resembles}"
print(f"correct: unit {top.unit} helps most with {task.target_names[int(np.argmax(top.contribution_auroc))]};"
      f" it resembles {resembles} (E={top.matches[0].e_value:.1g})")

# %% [markdown]
# ## 3. A unit as a logo

# %%
u = units[best_free_unit if best_free_unit is not ... else 12]
plots.show_logo(plots.information_logo(u.motif.probabilities), title=f"unit {u.unit}", y_label="bits",
               width=500, height=160)

# %% [markdown]
# ## What can go wrong
#
# - **Readable is not faithful**: a transparent model explains *itself*; if it is much weaker than a black
#   box (0.93 vs 0.96 AUROC here), its story may miss what the better model learned.
# - **Free units duplicate**: units left free learned MEF2-, ETS- and KLF-like motifs here, overlapping
#   the fixed MEF2A, GABPA and SP1 units; credit is then shared, so check contributions, not just the design.
# - **Signs need care**: a unit's output passes through its own small network, so the sign of its final
#   weight alone does not say whether its motif activates or represses; the contribution does.
