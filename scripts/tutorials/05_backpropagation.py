"""Write tutorials/05_backpropagation.ipynb (then run scripts/execute_tutorials.py on it)."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 05 · Backpropagation methods: saliency, gradient x input, integrated gradients, DeepSHAP

**Time:** about 20 minutes. **Needs:** tutorial 04.

**Learning goals.** After this notebook you can
1. compute saliency, gradient x input, integrated gradients (IG) and DeepLIFT/DeepSHAP for any model;
2. explain the gradient correction and why it helps on one-hot DNA;
3. measure every method against planted motifs and read the table critically.

ISM needs 3 x L forward passes; these methods need one backward pass (or a few dozen). The price is
an approximation (the review's Fig. 3c)."""),
    code("""import torch
from xai_widgets import data, zoo, plots
from xai_widgets.methods import (saliency, integrated_gradients, deep_lift_shap, saturation_mutagenesis,
                                 capabilities)
from xai_widgets.metrics import per_sequence_auroc

torch.manual_seed(0)
torch.set_num_threads(2)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
plots.setup_notebook()"""),
    md("""## 1. The benchmark

`attribution_benchmark` (Koo & Ploenzke 2021): positive sequences carry 3-7 sites of five motifs; the
mask marks the planted positions. A good attribution is high exactly there."""),
    code("""# NBVAL_CHECK_OUTPUT
model = zoo.load("basset_exp_attribution_benchmark", device=device)
test = data.attribution_benchmark(random_state=0).subset("test")
positives = torch.nonzero(test.y[:, 0] == 1).flatten()[:60]
X, mask = test.X[positives], test.mask[positives]
print(X.shape, "planted positions per sequence:", round(float(mask.sum(1).float().mean()), 1))
print({k: v for k, v in capabilities(model).items() if k in ("fast_ism", "deep_lift_shap")})"""),
    md("""## 2. Five methods, one table

- **saliency**: the gradient at the observed base;
- **corrected saliency**: subtract each position's mean gradient over the four bases first (Majdandzic
  et al. 2023): the part of the gradient that leaves the one-hot simplex carries no meaning;
- **integrated gradients**: gradients averaged along a path from baselines (here dinucleotide shuffles)
  to the sequence, times the difference;
- **DeepSHAP**: DeepLIFT's rules averaged over shuffled references;
- **ISM** for reference."""),
    code("""# NBVAL_CHECK_OUTPUT
scores = {
    "ISM": saturation_mutagenesis(model, X, 0, device=device).attribution().sum(1),
    "saliency": saliency(model, X, 0, device=device).per_position(),
    "corrected saliency": saliency(model, X, 0, correct=True, device=device).per_position(),
    "integrated gradients": integrated_gradients(model, X, 0, baseline="shuffle", n_baselines=10, n_steps=8,
                                                 random_state=0, device=device).per_position(),
    "DeepSHAP": deep_lift_shap(model, X, 0, n_shuffles=10, random_state=0, device=device).per_position(),
}
for name, s in scores.items():
    print(f"{name:22s} AUROC vs planted motifs {per_sequence_auroc(s.abs(), mask).nanmean():.3f}")"""),
    code("""k = 0
plots.show_attribution(X[k], saliency(model, X[k:k+1], 0, correct=True, device=device).on_observed()[0],
                       instances=test.instances.for_sequence(int(positives[k])), window=None,
                       title="corrected saliency x input")"""),
    md("""### Exercise

Integrated gradients with an all-zero baseline is the common default. Compute IG with
`baseline="zeros"` on the same sequences and compare its AUROC with the shuffled baseline above."""),
    code("""# your answer
zeros = integrated_gradients(model, X, 0, baseline="zeros", n_steps=32, device=device).per_position()
auroc_zeros = float(per_sequence_auroc(zeros.abs(), mask).nanmean())
auroc_shuffle = float(per_sequence_auroc(scores["integrated gradients"].abs(), mask).nanmean())
# self-check
assert auroc_zeros < auroc_shuffle, "the zero baseline is not a sequence: it should do worse here"
print(f"IG zeros {auroc_zeros:.3f} vs shuffled {auroc_shuffle:.3f}")"""),
    md("""## What can go wrong

- **Raw gradients are noisy** on one-hot input; correct them.
- **Baselines matter** for IG and DeepLIFT: an all-zero "sequence" is off the data.
- **Completeness is not correctness**: IG's attributions sum to f(x) - f(baseline) by construction,
  whatever the model learned.
- **DeepLIFT needs rules for every layer**: `capabilities(model)` refuses models it cannot handle
  (the LSTM of DanQ) rather than giving a wrong number."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nbf.write(nb, "tutorials/05_backpropagation.ipynb")
