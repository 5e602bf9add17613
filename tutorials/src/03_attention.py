# %% [markdown]
# # 03 · Attention as an explanation
#
# **Time:** about 15 minutes. **Needs:** tutorials 01-02.
#
# **Learning goals.** After this notebook you can
# 1. read a self-attention model's attention maps per layer and head;
# 2. turn them into one importance score per input position, and know what was averaged;
# 3. measure how well attention finds the planted motifs, and where it disagrees with ISM.
#
# Attention weights are part of the model, so they look like a free explanation (the review's Fig. 2d).
# But a weight says where the model *looked*, not what *changed* its prediction. We test both.

# %%
import torch

from xai_widgets import data, plots, zoo
from xai_widgets.methods import attention_importance, attention_maps, attention_vs_ism
from xai_widgets.metrics import per_sequence_auroc
from xai_widgets.widgets import AttentionOverlay

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()

# %% [markdown]
# ## 1. The maps
#
# The zoo's attention model runs a convolution, pools by 4 (so one *token* covers 4 positions) and then
# two layers of 4-head self-attention. `attention_maps` returns `(N, layers, heads, tokens, tokens)`;
# row *q* of a map is how query token *q* spreads its attention over all tokens (each row sums to 1).

# %%
# NBVAL_CHECK_OUTPUT
model = zoo.load("attention_motif_presence", device=device)
test = data.motif_presence(random_state=0).subset("test")
maps = attention_maps(model, test.X[:200], device=device)
print(maps.maps.shape, "stride", maps.stride, "receptive field", maps.receptive_field)
print("rows sum to 1:", torch.allclose(maps.maps.sum(-1), torch.ones(1)))

# %% [markdown]
# ## 2. From maps to positions
#
# `attention_importance` averages the attention each token *receives* over queries, heads and layers,
# and spreads it over the input positions the token reads (its 22-position receptive field). Scored
# against the planted mask, per sequence:

# %%
# NBVAL_CHECK_OUTPUT
has_site = test.mask[:200].any(1)
importance = attention_importance(maps)
print(f"AUROC, all layers: {per_sequence_auroc(importance[has_site], test.mask[:200][has_site]).nanmean():.2f}")
for layer in range(maps.n_layers):
    imp = attention_importance(maps, layer=layer)
    print(f"AUROC, layer {layer}:  {per_sequence_auroc(imp[has_site], test.mask[:200][has_site]).nanmean():.2f}")

# %% [markdown]
# ## 3. The AttentionOverlay
#
# Click a position of the sequence to make it the **query**: the strip above shows where that token
# attends. Change layer and head, and switch on **ISM importance** to compare with what actually changes
# the prediction. The shaded boxes are the planted motifs.

# %%
i = 4
target = int(model(test.X[i : i + 1]).argmax())   # ISM explains the output this sequence scores highest
overlay = AttentionOverlay(model, test.X[i], target=target, instances=test.instances.for_sequence(i), device=device)
overlay

# %% [markdown]
# **What you should see:** the sequence with its planted motifs boxed and an attention strip above it; clicking a
# position moves the query, and with **ISM importance** on, a second track peaks on the boxes while the
# attention strip is broader and less specific.

# %% [markdown]
# ## 4. Attention versus ISM
#
# ISM asks the model what each base changes; attention only says where it looked. Their per-position
# correlation, over sequences:

# %%
# NBVAL_CHECK_OUTPUT
rows = torch.nonzero(test.y[:200].sum(1) == 1).flatten()[:40]
targets = test.y[rows].argmax(1)
r = torch.cat([attention_vs_ism(model, test.X[int(k)][None], target=int(t), device=device).correlation
               for k, t in zip(rows, targets)])
print(f"median Pearson r between attention and |ISM|: {r.median():.2f} (range {r.min():.2f} to {r.max():.2f})")

# %% [markdown]
# ### Exercise
#
# Attention is the same for every output; ISM is not. For a sequence with two different planted motifs,
# compute `attention_vs_ism` for each of the two outputs. Which one agrees better with attention, and why
# can attention never agree with both perfectly? Sequence `k` and its outputs `t1`, `t2` are chosen for you.

# %%
k = int(torch.nonzero(test.y.sum(1) == 2).flatten()[0])
t1, t2 = torch.nonzero(test.y[k]).flatten().tolist()
print("sequence", k, "outputs", test.target_names[t1], "and", test.target_names[t2])

# %%
# your answer: r1, r2 = the correlations for t1 and t2 (floats); better = the name of the output that agrees more
### BEGIN SOLUTION
r1 = float(attention_vs_ism(model, test.X[[k]], target=t1, device=device).correlation[0])
r2 = float(attention_vs_ism(model, test.X[[k]], target=t2, device=device).correlation[0])
better = test.target_names[t1] if r1 > r2 else test.target_names[t2]
### END SOLUTION

# %% tags=["check"]
assert all(v is not ... for v in (r1, r2, better)), "replace each ... above with your answer"
expected = [float(attention_vs_ism(model, test.X[[k]], target=t, device=device).correlation[0]) for t in (t1, t2)]
assert abs(r1 - expected[0]) < 1e-4 and abs(r2 - expected[1]) < 1e-4, \
    "r1 and r2 should be attention_vs_ism(...).correlation for outputs t1 and t2 of sequence k"
assert better == test.target_names[(t1, t2)[int(expected[1] > expected[0])]], "`better` names the other output"
print(f"correct: {test.target_names[t1]}: r={r1:.2f}   {test.target_names[t2]}: r={r2:.2f}")

# %% [markdown] tags=["answer"]
# **Example answer.** The output whose motif the attention happens to cover more (printed above) agrees
# better. Attention is one map per sequence, shared by all 12 outputs, while each output's ISM map
# highlights only the motif that output depends on; one map cannot match two different maps at once.

# %% [markdown]
# ## What can go wrong
#
# - **Attention is not attribution**: high attention on a position does not mean the position changes
#   the prediction (Jain & Wallace 2019); check with ISM.
# - **Tokens are not bases**: after pooling, a token summarises a window; spreading it over the wrong
#   span (the 4 pooled positions instead of the 22 it reads) blurs where the motifs are.
# - **Layers differ**: the first layer's attention here is much less informative than the second
#   (the per-layer AUROCs printed in section 2); averaging hides that.
# - **One map for all outputs**: attention cannot say which motif drives which output.
