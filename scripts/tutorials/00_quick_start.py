"""Write tutorials/00_quick_start.ipynb (then run scripts/execute_tutorials.py on it)."""

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 00 · Quick start: flip a nucleotide, watch the prediction move

**Time:** 5 minutes.

A deep network reads 200 bases of DNA and predicts whether 12 transcription factors bind. Which
bases does it care about? Load a trained model, open a sequence, and click."""),
    code("""import torch
from xai_widgets import data, zoo
from xai_widgets.widgets import NucleotideFlipper

torch.set_num_threads(2)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)"""),
    code("""# NBVAL_CHECK_OUTPUT
model = zoo.load("basset_exp_motif_presence", device=device)   # ships with the package, no download
task = data.motif_presence(n=100, random_state=1)              # fresh sequences with planted motifs
i = 2
sites = task.instances.for_sequence(i)
print("planted:", sites)"""),
    md("""**Try this:** the heatmap shows, for every position and base, how the prediction would change
(blue: down, red: up). Click a dark-blue cell inside the shaded motif: the prediction drops. Click
**undo**, then **knock out** the motif (the span slider starts on it). Switch the *logo* menu to
compare attribution methods."""),
    code("""target = task.target_names.index(sites[0][0])
flipper = NucleotideFlipper(model, task.X[i], target=target, instances=sites, device=device)
flipper"""),
    code("""# NBVAL_CHECK_OUTPUT
name, start, end, strand = sites[0]
before = flipper.prediction
flipper.knock_out(start, end)
print(f"{name} knocked out: prediction {before:.2f} -> {flipper.prediction:.2f}")
flipper.undo()"""),
    md("""That is the whole idea of this course: ask the model *why*, and check the answer against motifs we
planted ourselves. Next: tutorial 01 (the data and the models)."""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nbf.write(nb, "tutorials/00_quick_start.ipynb")
