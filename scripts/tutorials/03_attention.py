"""Write tutorials/03_attention.ipynb (then run scripts/execute_tutorials.py on it)."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 03 · Attention as an explanation

**Time:** about 15 minutes. **Needs:** tutorials 01-02.

**Learning goals.** After this notebook you can
1. read a self-attention model's attention maps per layer and head;
2. turn them into one importance score per input position, and know what was averaged;
3. measure how well attention finds the planted motifs, and where it disagrees with ISM.

Attention weights are part of the model, so they look like a free explanation (the review's Fig. 2d).
But a weight says where the model *looked*, not what *changed* its prediction. We test both."""),
    code("""import torch
from xai_widgets import data, zoo, plots
from xai_widgets.methods import attention_maps, attention_importance, attention_vs_ism
from xai_widgets.metrics import per_sequence_auroc
from xai_widgets.widgets import AttentionOverlay

torch.manual_seed(0)
torch.set_num_threads(2)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()"""),
    md("""## 1. The maps

The zoo's attention model runs a convolution, pools by 4 (so one *token* covers 4 positions) and then
two layers of 4-head self-attention. `attention_maps` returns `(N, layers, heads, tokens, tokens)`;
row *q* of a map is how query token *q* spreads its attention over all tokens (each row sums to 1)."""),
    code("""# NBVAL_CHECK_OUTPUT
model = zoo.load("attention_motif_presence", device=device)
test = data.motif_presence(random_state=0).subset("test")
maps = attention_maps(model, test.X[:200], device=device)
print(maps.maps.shape, "stride", maps.stride, "receptive field", maps.receptive_field)
print("rows sum to 1:", torch.allclose(maps.maps.sum(-1), torch.ones(1)))"""),
    md("""## 2. From maps to positions

`attention_importance` averages the attention each token *receives* over queries, heads and layers,
and spreads it over the input positions the token reads (its 22-position receptive field). Scored
against the planted mask, per sequence:"""),
    code("""# NBVAL_CHECK_OUTPUT
has_site = test.mask[:200].any(1)
importance = attention_importance(maps)
print(f"AUROC, all layers: {per_sequence_auroc(importance[has_site], test.mask[:200][has_site]).nanmean():.2f}")
for layer in range(maps.n_layers):
    imp = attention_importance(maps, layer=layer)
    print(f"AUROC, layer {layer}:  {per_sequence_auroc(imp[has_site], test.mask[:200][has_site]).nanmean():.2f}")"""),
    md("""## 3. The AttentionOverlay

Click a position of the sequence to make it the **query**: the strip above shows where that token
attends. Change layer and head, and switch on **ISM importance** to compare with what actually changes
the prediction. The shaded boxes are the planted motifs."""),
    code("""i = 4
overlay = AttentionOverlay(model, test.X[i], instances=test.instances.for_sequence(i), device=device)
overlay"""),
    md("""## 4. Attention versus ISM

ISM asks the model what each base changes; attention only says where it looked. Their per-position
correlation, over sequences:"""),
    code("""# NBVAL_CHECK_OUTPUT
rows = torch.nonzero(test.y[:200].sum(1) == 1).flatten()[:40]
targets = test.y[rows].argmax(1)
r = torch.cat([attention_vs_ism(model, test.X[int(k)][None], int(t), device=device).correlation
               for k, t in zip(rows, targets)])
print(f"median Pearson r between attention and |ISM|: {r.median():.2f} (range {r.min():.2f} to {r.max():.2f})")"""),
    md("""### Exercise

Attention is the same for every output; ISM is not. For a sequence with two different planted motifs,
compute `attention_vs_ism` for each of the two outputs. Which one agrees better with attention, and why
can attention never agree with both perfectly?"""),
    code("""# your answer
k = int(torch.nonzero(test.y.sum(1) == 2).flatten()[0])
t1, t2 = torch.nonzero(test.y[k]).flatten().tolist()
r1 = float(attention_vs_ism(model, test.X[[k]], t1, device=device).correlation[0])
r2 = float(attention_vs_ism(model, test.X[[k]], t2, device=device).correlation[0])
# self-check
assert r1 != r2, "one attention map, two different ISM maps: the correlations must differ"
print(f"{test.target_names[t1]}: r={r1:.2f}   {test.target_names[t2]}: r={r2:.2f}")"""),
    md("""## What can go wrong

- **Attention is not attribution**: high attention on a position does not mean the position changes
  the prediction (Jain & Wallace 2019); check with ISM.
- **Tokens are not bases**: after pooling, a token summarises a window; spreading it over the wrong
  span (4 pooled positions instead of the 22 it reads) drops the AUROC from 0.88 to 0.69.
- **Layers differ**: the first layer's attention here is close to uninformative; averaging hides that.
- **One map for all outputs**: attention cannot say which motif drives which output."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nbf.write(nb, "tutorials/03_attention.ipynb")
