# %% [markdown]
# # 05 · Backpropagation methods: saliency, gradient x input, integrated gradients, DeepSHAP
#
# **Time:** about 20 minutes. **Needs:** tutorial 04.
#
# **Learning goals.** After this notebook you can
# 1. compute saliency, gradient x input, integrated gradients (IG) and DeepLIFT/DeepSHAP for any model;
# 2. explain the gradient correction and why it helps on one-hot DNA;
# 3. measure every method against planted motifs and read the table critically.
#
# ISM needs 3 x L forward passes; these methods need one backward pass (or a few dozen). The price is
# an approximation (the review's Fig. 3c).

# %%
import torch

from xai_widgets import data, plots, zoo
from xai_widgets.methods import capabilities, deep_lift_shap, integrated_gradients, saliency, saturation_mutagenesis
from xai_widgets.metrics import per_sequence_auroc

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()

# %% [markdown]
# ## 1. The benchmark
#
# `attribution_benchmark` (Koo & Ploenzke 2021): positive sequences carry 3-7 sites of five motifs; the
# mask marks the planted positions. A good attribution is high exactly there.

# %%
# NBVAL_CHECK_OUTPUT
model = zoo.load("basset_exp_attribution_benchmark", device=device)
test = data.attribution_benchmark(random_state=0).subset("test")
positives = torch.nonzero(test.y[:, 0] == 1).flatten()[:60]
X, mask = test.X[positives], test.mask[positives]
print(X.shape, "planted positions per sequence:", round(float(mask.sum(1).float().mean()), 1))
print({k: v for k, v in capabilities(model).items() if k in ("fast_ism", "deep_lift_shap")})

# %% [markdown]
# ## 2. Five methods, one table
#
# - **saliency**: the gradient at the observed base;
# - **corrected saliency**: subtract each position's mean gradient over the four bases first (Majdandzic
#   et al. 2023): the part of the gradient that leaves the one-hot simplex carries no meaning;
# - **integrated gradients**: gradients averaged along a path from baselines (here dinucleotide shuffles)
#   to the sequence, times the difference;
# - **DeepSHAP**: DeepLIFT's rules averaged over shuffled references;
# - **ISM** for reference.
#
# In plain words:
#
# - **Names.** In this course *saliency* is the gradient of the output (a logit) for all four bases at
#   every position, `.values` of shape `(N, 4, L)`. One score per position (`.per_position()`) keeps the
#   gradient at the observed base, which for one-hot DNA is exactly **gradient x input**; the row
#   "saliency" below is that score. `gradient_x_input` names the same thing in every notebook.
# - **Why gradients saturate.** A gradient says how the output changes for a tiny step. Once a motif is
#   strong enough that the network's units are flat (a ReLU switched off, a sigmoid-like plateau), the
#   local slope is small even though removing the motif would change the output a lot.
# - **Integrated gradients** fix that by adding up gradients along a straight path from a *baseline*
#   (a reference input) to the sequence; the attributions then sum to f(x) - f(baseline).
# - **DeepLIFT** compares each unit's activation with its activation on a **reference** sequence and
#   distributes the difference backwards with the **rescale rule**: a unit's share is (change of its
#   output) / (change of its input), a finite difference instead of a slope, so it does not saturate.
#   **DeepSHAP** averages DeepLIFT over several references.
# - **Why dinucleotide shuffles** as references: shuffling a sequence while keeping every pair of
#   neighbouring bases keeps its GC content and CpG frequency but destroys motifs. The reference then
#   looks like DNA without the signal; an all-zero "sequence" is not DNA at all.
#
# **Faithful to the model vs finds the planted motifs.** Two different questions. *Faithful*: does the
# attribution describe what this model computes (ISM is, for single edits, by construction)? *Finds the
# planted motifs*: do high scores fall on the positions we planted (the AUROC below)? A faithful method
# applied to a model that learned a shortcut scores badly on the second; a method can score well on the
# second while describing the model loosely. The table measures only the second.

# %%
# NBVAL_CHECK_OUTPUT
scores = {
    "ISM": saturation_mutagenesis(model, X, target=0, device=device).values.sum(1),
    "saliency": saliency(model, X, target=0, device=device).per_position(),
    "corrected saliency": saliency(model, X, target=0, correct=True, device=device).per_position(),
    "integrated gradients": integrated_gradients(model, X, target=0, baseline="shuffle", n_baselines=10, n_steps=8,
                                                 random_state=0, device=device).per_position(),
    "DeepSHAP": deep_lift_shap(model, X, target=0, n_shuffles=10, random_state=0, device=device).per_position(),
}
for name, s in scores.items():
    print(f"{name:22s} AUROC vs planted motifs {per_sequence_auroc(s.abs(), mask).nanmean():.3f}")

# %% [markdown]
# The AUROC is computed per sequence: rank the 200 positions by |attribution| and ask how well that
# ranking separates planted positions from the rest (1 = perfectly, 0.5 = chance); then average.

# %%
k = 0
plots.show_attribution(X[k], saliency(model, X[k:k+1], target=0, correct=True, device=device).on_observed()[0],
                       instances=test.instances.for_sequence(int(positives[k])), window=None,
                       title="corrected gradient x input")

# %% [markdown]
# **What you should see:** a logo with tall letters on the shaded planted motifs and small, mixed-sign letters
# elsewhere.

# %% [markdown]
# ### Exercise
#
# Integrated gradients with an all-zero baseline is the common default. Compute IG with
# `baseline="zeros"` on the same sequences and compare its AUROC with the shuffled baseline above.

# Use `n_steps=32` and the mean per-sequence AUROC of `abs()` scores, as in the table. Which baseline
# wins, and why?

# %%
# your answer: auroc_zeros and auroc_shuffle (floats); hint: integrated_gradients(...).per_position()
### BEGIN SOLUTION auroc_zeros, auroc_shuffle
zeros = integrated_gradients(model, X, target=0, baseline="zeros", n_steps=32, device=device).per_position()
auroc_zeros = float(per_sequence_auroc(zeros.abs(), mask).nanmean())
auroc_shuffle = float(per_sequence_auroc(scores["integrated gradients"].abs(), mask).nanmean())
### END SOLUTION

# %% tags=["check"]
assert auroc_zeros is not ... and auroc_shuffle is not ..., "replace each ... above with your answer"
reference = integrated_gradients(model, X, target=0, baseline="zeros", n_steps=32, device=device).per_position()
expected_zeros = float(per_sequence_auroc(reference.abs(), mask).nanmean())
expected_shuffle = float(per_sequence_auroc(scores["integrated gradients"].abs(), mask).nanmean())
assert abs(auroc_zeros - expected_zeros) < 1e-4, "auroc_zeros: IG with baseline='zeros', n_steps=32, on X"
assert abs(auroc_shuffle - expected_shuffle) < 1e-4, "auroc_shuffle: the 'integrated gradients' row of the table"
print(f"correct: IG zeros {auroc_zeros:.3f} vs shuffled {auroc_shuffle:.3f}")

# %% [markdown] tags=["answer"]
# **Example answer.** Read the two numbers printed by the check. Typically the shuffled baselines do
# better: the path from an all-zero input passes through inputs that are not DNA at all, and the
# attributions must explain f(x) - f(0), part of which is the model's reaction to "no bases". A
# dinucleotide shuffle keeps the composition and removes only the motifs, so the difference is about the
# motifs.

# %% [markdown]
# ## What can go wrong
#
# - **Raw gradients are noisy** on one-hot input; correct them.
# - **Baselines matter** for IG and DeepLIFT: an all-zero "sequence" is off the data.
# - **Completeness is not correctness**: IG's attributions sum to f(x) - f(baseline) by construction,
#   whatever the model learned.
# - **DeepLIFT needs rules for every layer**: `capabilities(model)` refuses models it cannot handle
#   (the LSTM of DanQ) rather than giving a wrong number.
