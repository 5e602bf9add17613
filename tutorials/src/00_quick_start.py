# %% [markdown]
# # 00 · Quick start: flip a nucleotide, watch the prediction move
#
# **Time:** 5 minutes.
#
# A deep network reads 200 bases of DNA and predicts whether 12 transcription factors bind. Which
# bases does it care about? Load a trained model, open a sequence, and click.

# %%
import os
import sys

import torch

from xai_widgets import data, zoo
from xai_widgets.widgets import NucleotideFlipper

if "google.colab" in sys.modules:
    print("Colab: widgets need the custom widget manager. Run once: "
          "from google.colab import output; output.enable_custom_widget_manager()")
elif "VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ:
    print("VS Code: widgets need the Jupyter extension; offline they stay blank unless "
          "plots.setup_notebook() has loaded the bundled BokehJS.")

device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)

# %%
# NBVAL_CHECK_OUTPUT
model = zoo.load("basset_exp_motif_presence", device=device)   # ships with the package, no download
task = data.motif_presence(n=100, random_state=1)              # fresh sequences with planted motifs
i = 2
sites = task.instances.for_sequence(i)
print("planted:", sites)

# %% [markdown]
# The model's outputs are **logits** (log-odds: any real number; 0 means probability 0.5, and
# `torch.sigmoid(logit)` turns one into a probability). "Prediction" below always means the logit.
#
# **Try this:** the heatmap shows, for every position and base, how the prediction would change
# (blue: down, red: up). Click a dark-blue cell inside the shaded motif: the prediction drops. Click
# **undo**, then **knock out** the motif (the span slider starts on it). Switch the *logo* menu to
# compare attribution methods.

# %%
target = task.target_names.index(sites[0][0])
flipper = NucleotideFlipper(model, task.X[i], target=target, instances=sites, device=device)
flipper

# %% [markdown]
# **What you should see:** a sequence track, an ISM heatmap and a logo on one x axis, with the planted motif
# shaded; the prediction (a logit) printed above. Clicking a blue cell inside the shaded box lowers it.

# %%
# NBVAL_CHECK_OUTPUT
name, start, end, strand = sites[0]
before = flipper.prediction
flipper.knock_out(start, end)
print(f"{name} knocked out: prediction {before:.2f} -> {flipper.prediction:.2f}")
flipper.reset()  # back to the start with an empty history: the widget shows only your own edits

# %% [markdown]
# ## What can go wrong
#
# - **No figure, only text?** The widgets need JupyterLab (or Notebook 7, VS Code, Colab with its custom
#   widget manager); a plain `jupyter console` or a static viewer shows nothing interactive.
# - **A logit, not a probability:** a drop from 3 to -6 is large in log-odds, from 95 % to 0.2 %.
#
# That is the whole idea of this course: ask the model *why*, and check the answer against motifs we
# planted ourselves. Next: tutorial 01 (the data and the models).
