# %% [markdown]
# # 12 · A variant, explained
#
# **Time:** about 15 minutes. **Needs:** tutorials 04-05.
#
# **Learning goals.** After this notebook you can
# 1. score a set of variants with a model: ref and alt predictions, their difference, and a
#    calibrated percentile (how unusual the effect is among random mutations);
# 2. explain the strongest one: the attribution of the ref and the alt sequence, and the motif it
#    breaks or creates;
# 3. say what such an explanation does *not* show.
#
# We use DeepSTARR (de Almeida et al. 2022), which predicts the developmental (`dev`) and
# housekeeping (`hk`) enhancer activity of 249-bp fly sequences measured by STARR-seq. Our variants are
# single-base edits of the strongest developmental enhancers in its test set.

# %%
import numpy as np
import torch

from xai_widgets import zoo
from xai_widgets.data import fly_enhancers, jaspar_motifs, variants_from_edits
from xai_widgets.methods import explain_variant, score_variants, variant_motifs

torch.set_num_threads(2)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)
model = zoo.load("deepstarr", device=device)
test = fly_enhancers("test")
strongest = torch.argsort(test.y[:, 0], descending=True)[:20]  # measured dev activity
X = test.X[strongest]
rng = np.random.default_rng(0)
edits = []
for _ in range(600):  # random SNVs: sequence, position, a base other than the one there
    i, p = int(rng.integers(0, len(X))), int(rng.integers(0, X.shape[2]))
    edits.append((i, p, "ACGT"[(int(X[i, :, p].argmax()) + int(rng.integers(1, 4))) % 4]))
variants = variants_from_edits(X, edits)
print(len(variants), "SNVs in", len(X), "enhancers")

# %% [markdown]
# ## 1. Score them
#
# `score_variants` predicts every ref and alt window (SNVs of one sequence share a window, so it uses
# the fast ISM engine) and calibrates each effect against 2,000 random SNVs of the same sequences:
# `percentile_dev` is the share of random SNVs whose |effect| is at most this one's.

# %%
# NBVAL_CHECK_OUTPUT
scores = score_variants(model, variants, genome=X, calibrate=2000, device=device, target="all", random_state=0)
table = scores.scored().copy()
table["abs_dev"] = table.delta_dev.abs()
top = table.sort_values("abs_dev", ascending=False).head(5)
print(top[["chrom", "pos", "ref", "alt", "ref_dev", "alt_dev", "delta_dev", "percentile_dev"]].round(2).to_string())

# %% [markdown]
# ## 2. Explain the strongest
#
# The attribution of the ref and of the alt window on one axis (ISM: the centred effect of each base),
# and their difference; then a scan of insect JASPAR motifs over the variant: which site does it
# break or create?

# %%
# NBVAL_CHECK_OUTPUT
row = int(top.index[0])
r = scores.table.loc[row]
e = explain_variant(model, scores, row=row, method="ism", target="dev", device=device)
diff = e.difference_per_position()
print(f"variant: sequence {r.chrom}, position {r.pos} {r.ref}>{r.alt}; dev {r.ref_dev:.2f} -> {r.alt_dev:.2f}")
print(f"largest attribution change at column {int(diff.abs().argmax())} (the variant is at column {e.offset})")
insects = jaspar_motifs(tax_group="insects")
for threshold in (0.8, 0.6):  # a site: at least this fraction of the motif's best score
    found = variant_motifs(scores, row, motifs=insects, threshold=threshold)
    print(f"threshold {threshold}:")
    print(found[["motif", "strand", "call", "start", "end", "ref_score", "alt_score"]].round(1).to_string())

# %% [markdown]
# Read the two scans. At the strict threshold the G>T creates a Zelda (`vfl`, `CAGGTA[AG]`) site.
# At the looser one the scan also calls a lost Stat92E site: the reference holds `TTCAGGGAA`, the
# STAT consensus `TTCnnnGAA`, and the variant breaks its second half. The model predicts a large
# *drop* of developmental activity, which fits the lost STAT site better than a gained Zelda site
# (Zelda activates). Motif calls depend on a threshold, so use them as hypotheses, and check them
# against the ref logo: which bases around column 124 carry the attribution?
#
# **How sure is the model?** The percentile says how unusual the effect is *for this model*: a
# percentile near 100 means few random SNVs in these enhancers change the prediction as much. It is a
# statement about the model's predictions, not a p-value for the biology.

# %%
print(f"percentile among random SNVs: dev {r.percentile_dev:.1f}, hk {r.percentile_hk:.1f}")
print(f"the null: {len(scores.null)} random SNVs; median |effect| on dev {scores.null[:, 0].abs().median():.3f}")

# %% [markdown]
# ## 3. Click through the variants
#
# The `VariantExplorer` lists the scored variants (sort by any column), and a click shows the ref and
# alt logos on one axis, the difference, the motifs gained or lost as boxes, and the numbers per output.
# "open flipper" opens the NucleotideFlipper on the alt (or ref) sequence so you can keep editing.

# %%
from xai_widgets.widgets import VariantExplorer

VariantExplorer(model, scores, target="dev", motifs=insects, motif_threshold=0.6, device=device)

# %% [markdown]
# ## Exercise
#
# Which scored SNV changes the *housekeeping* output the most (largest |delta_hk|)? Put its table row in
# `answer`.

# %%
# your answer: a row index of scores.table (an int); hint: the explorer's sort menu, or table.delta_hk.abs()
### BEGIN SOLUTION answer
answer = int(table.delta_hk.abs().idxmax())
### END SOLUTION

# %% tags=["check"]
assert answer is not ..., "replace ... above with your answer"
largest = scores.table.delta_hk.abs()  # recomputed from the scores, not from your table
assert int(answer) in largest.index, f"{answer} is not a row of scores.table"
assert abs(largest[int(answer)] - largest.max()) < 1e-9, (
    f"row {answer} changes hk by {largest[int(answer)]:.3f}; another SNV changes it by {largest.max():.3f}")
print("correct")

# %% [markdown]
# ## What a student should not conclude
#
# - **An attribution is not a measurement.** The logos say why *the model* predicts this effect. Whether
#   the model is right about variants is tested by correlating its predicted effects with *measured*
#   effects (a saturation MPRA, allele-specific expression, QTLs), not by how convincing the
#   explanation looks.
# - **A large percentile is not significance.** It ranks the effect among random mutations for this
#   model; a wrong model ranks confidently too.
# - **A motif match is not binding.** A PWM score change says a site got better or worse; whether a
#   factor binds there in the cell is another experiment.
# - **Windows matter.** The model sees 249 bp; a variant's effect through distal elements is invisible
#   to it. For indels, ref and alt are aligned on the left flank and the right flank shifts.
