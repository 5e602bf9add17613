"""Write tutorials/02_filters.ipynb (then run scripts/execute_tutorials.py on it)."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 02 · First-layer filters: what did the model learn to look for?

**Time:** about 20 minutes. **Needs:** tutorial 01.

**Learning goals.** After this notebook you can
1. turn a first-layer convolution filter into a motif, from its weights and from the sequences that
   activate it, and say why the second is the one to trust;
2. annotate filters against JASPAR with Tomtom and read p-, E- and q-values;
3. ablate filters and measure how much the model needs each one, with the FilterGallery;
4. recognise redundant filters, and why the first-layer activation matters (exponential vs ReLU).

This is the review's *model-based* family (Novakovsky et al. 2022, Fig. 2a-c): instead of explaining
one prediction, we open the model and read its first layer, whose filters scan the DNA like
position weight matrices."""),
    code("""import numpy as np
import torch
from xai_widgets import data, zoo, plots
from xai_widgets.methods import (filters_from_weights, filters_from_activations, tomtom_matches,
                                 planted_motif_recovery, filter_importance, ablate_filters)
from xai_widgets.widgets import FilterGallery

torch.manual_seed(0)
torch.set_num_threads(2)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()"""),
    md("""## 1. A filter is a motif detector

We use the Basset-style CNN with an **exponential** first-layer activation, trained on `motif_presence`
(12 planted transcription-factor motifs). Its first convolution has 64 filters of width 19."""),
    code("""# NBVAL_CHECK_OUTPUT
model = zoo.load("basset_exp_motif_presence", device=device)
task = data.motif_presence(random_state=0)      # the data the model was trained on
test = task.subset("test")                      # held-out sequences
print(model.first_conv)
print(test)"""),
    md("""### From the weights

The simplest transform: a softmax over the four bases at each position, `p = softmax(beta * W)`.
**Caveat** (the review's Fig. 2a): the weights have no absolute scale (a batch norm can absorb any
factor), so `beta` sets the information content arbitrarily. Compare shapes, not bits."""),
    code("""# NBVAL_CHECK_OUTPUT
weight_motifs = filters_from_weights(model, beta=1.0)
sharper = filters_from_weights(model, beta=3.0)
f = 3
print(f"filter {f}: {weight_motifs[f].information_content().sum():.1f} bits at beta=1, "
      f"{sharper[f].information_content().sum():.1f} bits at beta=3 -- same filter")"""),
    md("""### From the sequences that activate it

The standard alternative: scan held-out sequences, keep every window where the filter's activation
exceeds half of its maximum, align those windows and count the bases. The result is an ordinary
position probability matrix with a number of sites behind it."""),
    code("""# NBVAL_CHECK_OUTPUT
motifs = filters_from_activations(model, test.X[:3000], threshold=0.5, device=device, progress=False)
print(f"filter {f}: {motifs[f].n_sites} sites, consensus {motifs[f].consensus}")"""),
    code("""plots.show_logo(plots.information_logo(motifs[f].probabilities), title=f"filter {f} (activation PPM)",
               y_label="bits", width=500, height=160)"""),
    md("""## 2. Which transcription factor is it? Tomtom against JASPAR

Tomtom compares a motif with every matrix of a database and gives a p-value per pair. With 879
vertebrate matrices the **E-value** (p x 879) says how many matches that good you would expect by
chance; the **q-value** corrects for testing many targets. E < 0.1 is the usual threshold."""),
    code("""# NBVAL_CHECK_OUTPUT
matches = tomtom_matches([motifs[f]], n_best=3)[0]
for m in matches:
    print(f"{m.target:10s} {m.target_id:9s} p={m.p_value:.1e}  E={m.e_value:.1e}  q={m.q_value:.1e}  strand {m.strand}")"""),
    md("""Because we planted the motifs ourselves, we can check the whole first layer against the truth:
for each planted motif, does some filter match **its own** JASPAR matrix with E < 0.1?"""),
    code("""# NBVAL_CHECK_OUTPUT
recovered = planted_motif_recovery(motifs, task.motifs)
for name, hit in recovered.items():
    print(f"{name:7s}", "missed" if hit is None else f"filter {hit[0]:2d}  E={hit[1]:.0e}")
print("recovered:", sum(h is not None for h in recovered.values()), "of", len(recovered))"""),
    md("""## 3. Does the model need the filter? Ablation

Silence a filter (set its activation to zero) and measure the held-out AUROC. The FilterGallery
below sorts the filters by that effect. **Click a tile** to ablate that filter (click again to restore
it); the readout shows the AUROC and the predictions of a few sequences, and the panel below lists the
filter's JASPAR matches and its most activating sites. Try ablating the top three, then
*ablate all but focused*."""),
    code("""gallery = FilterGallery(model, test, n_eval=1000, device=device)
gallery"""),
    code("""# NBVAL_CHECK_OUTPUT
top = gallery.order[0]
print("most important filter:", top, "->", gallery.matches[top][0].target, "(an E-box: the MAX motif, CACGTG)")
print(f"AUROC drop when ablated alone: {gallery.importance.drop[top]:.3f}")"""),
    md("""### Exercise

Ablate **every filter that matches SP1** (E < 0.1 against SP1's matrix, `task.motifs["SP1"]`) at once.
How much does the AUROC of the SP1 output fall, compared with ablating only the best one?"""),
    code("""# your answer
from xai_widgets.methods import planted_e_values
sp1_filters = np.flatnonzero(planted_e_values(motifs, {"SP1": task.motifs["SP1"]})["SP1"] < 0.1).tolist()
sp1 = task.target_names.index("SP1")
X, y = test.X[:1000], test.y[:1000, sp1]

from xai_widgets.metrics import auroc
def sp1_auroc(filters):
    return auroc(ablate_filters(model, X, filters, device=device).predictions[:, sp1], y)

together, best_only = sp1_auroc(sp1_filters), sp1_auroc(sp1_filters[:1])
# self-check
assert together < best_only - 0.05, "ablating all SP1 filters should hurt far more than one: redundancy"
print(f"{len(sp1_filters)} SP1 filters: AUROC {together:.3f} together vs {best_only:.3f} with one ablated")"""),
    md("""## 4. Why the exponential activation?

The ReLU twin of this model classifies just as well, but its filters are far less readable
(Koo & Ploenzke 2021): it spreads each motif over several partial filters."""),
    code("""# NBVAL_CHECK_OUTPUT
relu = zoo.load("basset_relu_motif_presence", device=device)
relu_recovered = planted_motif_recovery(filters_from_activations(relu, test.X[:3000], progress=False), task.motifs)
print("ReLU model recovers", sum(h is not None for h in relu_recovered.values()), "of 12 planted motifs")"""),
    md("""## What can go wrong

- **Weight motifs depend on an arbitrary scale**: use activation motifs for annotation.
- **Redundancy hides importance**: a motif learned by five filters survives any single ablation.
- **A match is not a cause**: a filter matching a JASPAR motif shows what the model detects, not that
  the factor binds there; and similar factors (CEBPB/CEBPE, GABPA/ELF1) match each other.
- **Low-information motifs** (AT-rich Arid3a here) are hard for filters and for Tomtom alike."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nbf.write(nb, "tutorials/02_filters.ipynb")
