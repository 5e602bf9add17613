# %% [markdown]
# # 09 · A published model on real enhancers: DeepSTARR
#
# **Time:** about 20 minutes. **Needs:** tutorials 02, 04 and 06.
#
# **Learning goals.** After this notebook you can
# 1. ask a published model which bases make a strong developmental (`dev`) or housekeeping (`hk`)
#    enhancer, and edit them in the NucleotideFlipper;
# 2. name its first-layer filters against the JASPAR collection that fits the organism (insects);
# 3. test the motif words the DeepSTARR paper reported by inserting them into shuffled fly
#    backgrounds, and find where the model disagrees with the expectation.
#
# DeepSTARR (de Almeida et al. 2022, *Nature Genetics*) predicts the STARR-seq activity of 249-bp
# *Drosophila* S2 sequences for two promoters: developmental (`dev`) and housekeeping (`hk`).

# %%
import numpy as np
import torch

from xai_widgets import zoo
from xai_widgets.data import backgrounds, fly_enhancers, jaspar_motifs
from xai_widgets.methods import filters_from_activations, motif_effects, saturation_mutagenesis, tomtom_matches

torch.set_num_threads(2)
model = zoo.load("deepstarr", device="cpu")
test = fly_enhancers().split("test")
strong_dev = int(test.y[:, 0].argmax())   # measured activities, not predictions
strong_hk = int(test.y[:, 1].argmax())
print(test)

# %% [markdown]
# ## 1. Which bases make a strong enhancer?
#
# Saturation mutagenesis (ISM) of the strongest measured developmental and housekeeping enhancer, for
# both outputs at once (`target="all"` returns every output). The per-position importance is the
# largest |effect| of any substitution there.

# %%
# NBVAL_CHECK_OUTPUT
X = test.X[[strong_dev, strong_hk]]
ism = saturation_mutagenesis(model, X, target="all", device="cpu")   # delta: (2 sequences, 2 outputs, 4, 249)
pred = ism.prediction
for row, name in enumerate(["strongest dev", "strongest hk"]):
    print(f"{name}: predicted dev {pred[row, 0]:.1f}, hk {pred[row, 1]:.1f}")
    for t, target in enumerate(["dev", "hk"]):
        per_position = ism.delta[row, t].abs().amax(0)
        top = sorted(torch.topk(per_position, 5).indices.tolist())
        print(f"   {target}: most sensitive positions {top}")

# %% [markdown]
# In the strongest developmental enhancer both outputs lean on the same bases (108-111 and 119):
# one site carries it. In the strongest housekeeping enhancer the two outputs read partly different
# bases (position 66 matters for `hk` only, 180-182 more for `dev`).

# %% [markdown]
# ## 2. Its filters, named against insect JASPAR
#
# Motifs from the windows that activate each first-layer filter (300 test sequences), then Tomtom
# against JASPAR 2024 CORE *insects* (vertebrate matrices would be the wrong database for a fly).
# To stay within the notebook's time we compare the 8 most informative filters of 256.

# %%
# NBVAL_CHECK_OUTPUT
insects = jaspar_motifs(tax_group="insects")
motifs = filters_from_activations(model, test.X[:300], device="cpu", progress=False)
bits = np.array([m.information_content().sum() for m in motifs])
chosen = [int(f) for f in np.argsort(-bits)[:8]]
matches = tomtom_matches([motifs[f] for f in chosen], insects, n_best=1)
print(len(insects), "insect matrices")
for f, found in zip(chosen, matches):
    best = found[0] if len(found) else None
    print(f"filter {f:3d} {motifs[f].consensus:20s}", "->",
          f"{best.target} (p = {best.p_value:.1e})" if best else "no match")

# %% [markdown]
# ## 3. The paper's motif words in shuffled fly backgrounds
#
# Each consensus is inserted in the middle of 100 dinucleotide-shuffled test enhancers (both strands
# averaged); the effect is the prediction with the word minus without. The paper found GATA, AP-1,
# twist, Trl, ETS and SREBP to be developmental and Dref, Ohler1 and Ohler6 housekeeping.

# %%
# NBVAL_CHECK_OUTPUT
words = {"GATA": "AGATAAGA", "AP-1": "ATGACTCAT", "twist": "ACATCTGT", "Trl": "AGAGAGA", "ETS": "ACCGGAAG",
         "SREBP": "ATCACGCCA", "Dref": "TATCGATA", "Ohler1": "GTGTGACC", "Ohler6": "AAAATACCA"}
developmental = ["GATA", "AP-1", "twist", "Trl", "ETS", "SREBP"]
bgs = backgrounds(100, 249, from_sequences=test.X[:200], random_state=0)
dev = motif_effects(model, bgs, motifs=words, target=0, strand="both", device="cpu", random_state=0)
hk = motif_effects(model, bgs, motifs=words, target=1, strand="both", device="cpu", random_state=0)
for i, name in enumerate(dev.names):
    kind = "dev" if name in developmental else "hk "
    print(f"{name:7s} ({kind}) effect on dev {dev.mean[i]:+.2f}, on hk {hk.mean[i]:+.2f}")

# %% [markdown]
# ## 4. Exercise: does the model agree with the paper?
#
# Write `agrees`: a dict from each word to True when the model's effects go the paper's way
# (developmental words: effect on dev larger than on hk; housekeeping words: the reverse). Then look
# closer: which words raise *both* outputs, and which developmental word is weakest? A word can go
# the right way and still raise hk (SREBP and AP-1 do here): the model is not a clean two-class
# switch.

# %%
# your answer: a dict {word: True/False}; hint: compare dev.mean[i] with hk.mean[i] for each word in dev.names
### BEGIN SOLUTION agrees
agrees = {name: (dev.mean[i] > hk.mean[i]) == (name in developmental) for i, name in enumerate(dev.names)}
### END SOLUTION

# %% tags=["check"]
assert agrees is not ..., "replace ... above with your answer"
expected = {name: bool((dev.mean[i] > hk.mean[i]) == (name in developmental)) for i, name in enumerate(dev.names)}
assert {k: bool(v) for k, v in agrees.items()} == expected, "not yet: compare dev.mean with hk.mean for every word"
print("correct")

# %%
# NBVAL_CHECK_OUTPUT
print("words where the model disagrees with the paper:", [k for k, v in expected.items() if not v] or "none")
both = [name for i, name in enumerate(dev.names) if dev.mean[i] > 0.1 and hk.mean[i] > 0.1]
print("words that raise both outputs by > 0.1:", both)

# %% [markdown]
# ## 5. Edit it yourself
#
# The flipper opens the strongest developmental enhancer; the target menu shows `dev` and `hk`.
# Click a base in the sequence track (or a heatmap cell) to edit it; switch the target to see the
# other promoter's reading. (Each click recomputes the full ISM map: a few seconds on a laptop CPU.)

# %%
from xai_widgets.widgets import NucleotideFlipper

flipper = NucleotideFlipper(model, test.X[strong_dev], target=0, window=120, device="cpu")
flipper

# %% [markdown]
# **Take-aways.** The published model's grammar can be read with the same tools as the toy
# models: per-base ISM, filters named against the right JASPAR collection, and inserted motif words.
# The words the paper reported do move the two outputs the expected way, but not exclusively.
