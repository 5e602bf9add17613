# %% [markdown]
# # 06 · Interactions: motifs that work together
#
# **Time:** about 20 minutes. **Needs:** tutorials 04-05.
#
# **Learning goals.** After this notebook you can
# 1. measure a motif's average effect with global importance analysis (GIA);
# 2. recover a spacing and orientation grammar with a motif-spacing sweep;
# 3. find which features depend on which with pairwise ISM and DFIM;
# 4. ask the model for the sequence it likes best (maximal activation).
#
# Attribution maps score positions one at a time; gene regulation is full of *pairs* (the review's
# Fig. 4). The `cooperative_grammar` task plants one: **Spi1** and **Irf1** add +2 to the activity only
# when Irf1 sits 4-12 bases downstream of Spi1 on the same strand. CTCF (no effect) and REST
# (repressor, -0.5) are distractors.

# %%
import torch

from xai_widgets import data, plots, zoo
from xai_widgets.data import backgrounds
from xai_widgets.methods import dfim, maximize_activation, motif_effects, pairwise_ism, spacing_sweep
from xai_widgets.widgets import InteractionMap, SpacingSweep

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()
model = zoo.load("basset_relu_cooperative_grammar", device=device)
print(data.GRAMMAR_RULE)

# %% [markdown]
# ## 1. Global importance analysis
#
# Insert a motif into 100 random backgrounds and average the change of the prediction. The planted
# effects are Spi1 +1.0, Irf1 +0.5, CTCF 0, REST -0.5.

# %%
# NBVAL_CHECK_OUTPUT
bgs = backgrounds(100, 200, random_state=0)
effects = motif_effects(model, bgs, motifs={name: data.get_motif(name) for name in ("Spi1", "Irf1", "CTCF", "REST")},
                        device=device, random_state=0)
for name, (lo, hi) in zip(effects.names, effects.ci.tolist()):
    mean = round(effects.as_dict()[name], 2) + 0.0  # no "-0.00"
    print(f"{name:5s} {mean:+.2f}  95% CI [{round(lo, 1) + 0.0:+.1f}, {round(hi, 1) + 0.0:+.1f}]")
print("order:", " > ".join(effects.ranking()))

# %% [markdown]
# The order is right but the sizes are smaller than planted (about +0.75, +0.33, -0.35 against +1.0,
# +0.5, -0.5). Not a bug: the task plants **sharpened** sites, sampled from each JASPAR matrix raised to
# `p ** (1 / 0.6)` and renormalised, so they sit close to the consensus. GIA here inserts **raw** samples
# from the JASPAR matrices, which more often carry a weak base; the model, trained on near-consensus
# sites, reacts less to them. Effect sizes from GIA are about the inserted sequences, not only the factor.

# %% [markdown]
# ## 2. The spacing sweep
#
# Spi1 stays in the middle; Irf1 moves through every spacing (bases between them; negative: upstream)
# in all four strand combinations. **Run** it in the widget, change the motifs or the range, and click
# the curve to see an example sequence with its attribution logo.

# %%
sweep = SpacingSweep(model, spacings=(-20, 20), n_backgrounds=100, device=device, run=False)
sweep.run(wait=True)   # the slowest cell of this notebook (about 20-40 s on one CPU core)
sweep

# %% [markdown]
# **What you should see:** four curves (one per orientation); the `++` curve rises to a plateau between about 4 and
# 12 bp and the others stay near zero.

# %%
# NBVAL_CHECK_OUTPUT
orientation, spacing = sweep.peak
print(f"peak: orientation {orientation} at {spacing} bp")

# %% [markdown]
# ### Exercise
#
# The planted window is 4-12 bp. Using `sweep.result` (one `SpacingSweepResult` per orientation), find
# the spacings where the `++` effect stays above half of its peak (a list of ints, in increasing order),
# and compare them with the window.

# %%
# your answer: high = the spacings; hint: part.spacings and part.effect[0] of the '++' part
### BEGIN SOLUTION
part = next(p for p in sweep.result if p.orientations[0] == "++")
effect = part.effect[0]
high = part.spacings[effect > effect.max() / 2].tolist()
### END SOLUTION

# %% tags=["check"]
assert high is not ..., "replace the ... above with your list of spacings"
plus = next(p for p in sweep.result if p.orientations[0] == "++")
half = max(plus.effect[0].tolist()) / 2
expected = [int(s) for s, e in zip(plus.spacings.tolist(), plus.effect[0].tolist()) if e > half]
assert [int(s) for s in high] == expected, \
    f"not the half-maximum spacings: expected {len(expected)} spacings, you gave {len(list(high))}"
print("correct: above half maximum from", min(high), "to", max(high), "bp;",
      "covers the planted 4-12:", all(s in high for s in range(4, 13)),
      "| extra spacings outside it:", [s for s in high if not 4 <= s <= 12])

# %% [markdown] tags=["answer"]
# **Example answer.** The half-maximum range covers the planted 4-12 bp window; any spacings beyond it
# show how sharply (or not) the model learned the window's edges: a model can be right about the grammar
# and still blur its boundaries.

# %% [markdown]
# ## 3. Which features depend on which? DFIM
#
# Deep Feature Interaction Maps (Greenside et al. 2018): mutate one feature (the *source*) and measure
# how much another feature's importance (the *target*) changes. Hover a cell to highlight both features;
# click it to see the importance before and after.

# %%
task = data.cooperative_grammar(n=2000, random_state=1)
from xai_widgets.evaluation import grammar_sequences

i = int(grammar_sequences(task)[0])
sites = task.instances.for_sequence(i)
print(sites)
imap = InteractionMap(model, task.X[i], instances=sites, n_null=5, device=device, progress=False)
imap

# %% [markdown]
# **What you should see:** a small matrix of features (motif instances); the Spi1-Irf1 cell is by far the darkest,
# the CTCF cells pale.

# %%
# NBVAL_CHECK_OUTPUT
for a, b, score in imap.result.ranked_pairs():
    print(f"{a:16s} {b:16s} {score:.2f}")

# %% [markdown]
# ## 4. Pairwise ISM inside a motif
#
# Every pair of substitutions in a short window, against the sum of the two single effects: the
# difference is the *epistasis*, **double-mutant effect minus the sum of the two single effects**.
# Positive: the pair raises the logit more (or lowers it less) than the two edits separately;
# negative: the pair lowers it more than their sum. Below, inside Spi1, the strongest values are
# **negative**: each single hit leaves enough of the motif for the model, two hits destroy it. (The
# opposite, a second hit mattering less than the first, would show as positive values.)

# %%
# NBVAL_CHECK_OUTPUT
name, start, end, _ = next(s for s in sites if s[0] == "Spi1")
pairs = pairwise_ism(model, task.X[i : i + 1], start=start, end=start + 10, device=device, progress=False)
for position_a, base_a, position_b, base_b, value in pairs.top_pairs(3):
    print(f"{position_a}{base_a} + {position_b}{base_b}: epistasis {value:+.2f}")

# %% [markdown]
# ## 5. What does the model like best?
#
# Optimise a sequence to maximise the output (a relaxed one-hot with straight-through rounding), from
# several random starts.

# %%
# NBVAL_CHECK_OUTPUT
best = maximize_activation(model, length=200, n_starts=4, steps=150, device=device, random_state=0, progress=False)
print(f"optimised: {best.activations.max():.1f}  vs. the highest activity in the data {task.y.max():.1f}")
hits = {name: len(data.scan(best.sequences[best.order[:1]], data.get_motif(name), threshold=0.6))
        for name in ("Spi1", "Irf1")}
print("sites in the best sequence:", hits)

# %% [markdown]
# ## What can go wrong
#
# - **Backgrounds matter**: GIA measures effects in *those* backgrounds; random DNA is not a genome.
# - **Spacing conventions differ** between tools (bases between motifs vs start-to-start); state yours.
# - **Interactions can be model artefacts**: a shuffled-sequence null flags weak non-additive effects
#   between real motifs too; compare scores, do not treat p < 0.05 as a discovered grammar.
# - **Maximal activation finds what the model likes, not what the cell does**: optimised sequences stack
#   sites far beyond anything in the data.
