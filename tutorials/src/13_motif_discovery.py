# %% [markdown]
# # 13 · What did the model learn overall?
#
# **Time:** about 15 minutes. **Needs:** tutorials 02 and 05.
#
# **Learning goals.** After this notebook you can
# 1. compute attributions for many sequences in one call, streamed to a store on disk;
# 2. turn those local explanations into the motifs the model uses everywhere (TF-MoDISco,
#    Shrikumar et al. 2018, through modisco-lite);
# 3. trace every motif back to the sequences and positions (seqlets) it was built from;
# 4. check the result against the truth we planted and against the filters of tutorial 02.
#
# We use the exponential Basset-style CNN of tutorial 02 on 400 fresh `motif_presence` sequences (200 bp,
# each with planted sites of some of 12 transcription factors). Each sequence is explained for the output
# of its first planted factor.

# %%
import tempfile
import warnings

import numpy as np
import torch

from xai_widgets import data, zoo
from xai_widgets.evaluation import planted_motif_recovery, planted_recovery
from xai_widgets.methods import filters_from_activations
from xai_widgets.methods.atscale import attribute_to_store
from xai_widgets.methods.discovery import discover_motifs

torch.set_num_threads(2)
warnings.filterwarnings("ignore", message="tomtom was given")  # 12 targets: see the note in section 2
model = zoo.load("basset_exp_motif_presence", device="cpu")
task = data.motif_presence(n=400, random_state=11)
first = {}
for s, m in zip(task.instances.sequence, task.instances.motif):
    first.setdefault(int(s), str(m))
targets = [first[i] for i in range(len(task.X))]
print(task.X.shape, "sequences; planted factors:", ", ".join(task.motifs))

# %% [markdown]
# ## 1. Attributions for many sequences, to a store
#
# `attribute_to_store` runs DeepSHAP (here with 4 dinucleotide-shuffled references per sequence, to stay
# fast; use 20 or more in research) in chunks and writes contributions, *hypothetical* contributions (what
# each base would contribute if it were there) and the sequences to a Zarr store. An interrupted run
# resumes where it stopped; with a `dask.distributed` client the chunks run on its workers.

# %%
store = attribute_to_store(model, task, store=tempfile.mkdtemp() + "/motif_presence", target=targets,
                           chunk_size=200, random_state=0, options={"n_shuffles": 4}, client=None)
print(store)

# %% [markdown]
# ## 2. From attributions to motifs
#
# TF-MoDISco cuts high-attribution windows (*seqlets*) out of every sequence, clusters them by the
# similarity of their hypothetical contributions, and averages each cluster into a *pattern*: a
# contribution weight matrix (CWM: mean contribution per base and position) and a position weight
# matrix (PWM: base frequencies of its seqlets). With few sequences we allow smaller clusters and fewer
# Leiden runs than modisco's defaults.
#
# Tomtom matches are computed on the matrix that is drawn. Here the targets are the 12 planted
# matrices, so we can check the answer; on real data use a JASPAR collection (`database="vertebrates"`,
# `"insects"`...). With only 12 targets Tomtom's p-values are rough (it warns): read them as a ranking.

# %%
result = discover_motifs(store, database=task.motifs, n_leiden_runs=2, min_metacluster_size=50,
                         final_min_cluster_size=10)
result.table()[["pattern", "sign", "n_seqlets", "width", "cwm_match", "cwm_e_value", "pwm_match"]]

# %% [markdown]
# ## 3. Against the planted truth
#
# A planted motif counts as found when its best-matching positive pattern matches it at Tomtom E < 0.1;
# `overlap` is the share of that pattern's seqlets that lie on a planted site of the motif.

# %%
recovery = planted_recovery(result, task.instances, motifs=task.motifs)
print(recovery[["motif", "pattern", "n_seqlets", "overlap", "recovered"]].round(2).to_string())

# %%
# NBVAL_CHECK_OUTPUT
print("found at least 9 of 12 planted motifs:", int(recovery.recovered.sum()) >= 9)

# %% [markdown]
# ## 4. Seqlets, traced back
#
# Every pattern lists its seqlets: the sequence, the drawn window and the strand. Compare the first few
# with the sites we planted in those sequences.

# %%
best = result.patterns[0]
seqlets = best.seqlets[["sequence", "start", "end", "strand", "contribution"]].head(5)
for row in seqlets.itertuples():
    planted = [(m, a, b) for m, a, b, *_ in task.instances.for_sequence(row.sequence)]
    print(f"{best.name} seqlet in sequence {row.sequence} at {row.start}-{row.end} ({row.strand}); planted:", planted)

# %% [markdown]
# ## 5. Compared with the filters of tutorial 02
#
# Tutorial 02 read motifs off the first-layer filters. Both views should agree on this model, which has
# an exponential first layer; TF-MoDISco also works for models whose filters are unreadable, since it
# looks only at attributions.

# %%
filter_hits = planted_motif_recovery(filters_from_activations(model, task.X, threshold=0.5, progress=False),
                                     task.motifs)
by_filters = {m for m, f in filter_hits.items() if f is not None}
by_modisco = set(recovery.motif[recovery.recovered])
print("found by both:", len(by_filters & by_modisco), "; only by filters:", sorted(by_filters - by_modisco),
      "; only by TF-MoDISco:", sorted(by_modisco - by_filters))

# %% [markdown]
# ## 6. Explore
#
# Click a pattern's logo (or its row) to list its seqlets; click a seqlet to open its sequence in the
# NucleotideFlipper of tutorial 04, centred on the seqlet. The toggle switches between CWM and PWM logos;
# the matches shown are those of the drawn matrix.

# %%
from xai_widgets.widgets import MotifDiscovery

MotifDiscovery(model, store, result=result, target=0, device="cpu")

# %% [markdown]
# ## Exercise
#
# Which planted motif has the *lowest* seqlet overlap? Put its name in `answer`, then look at that
# pattern's seqlets in the widget: what else does the pattern collect?

# %%
# your answer: a motif name (a string); hint: sort the recovery table by overlap
### BEGIN SOLUTION answer
answer = recovery[recovery.recovered].sort_values("overlap").motif.iloc[0]
### END SOLUTION

# %% tags=["check"]
assert answer is not ..., "replace ... above with your answer"
recovered = recovery[recovery.recovered].set_index("motif").overlap  # recomputed from the recovery table
assert answer in recovered.index, f"{answer!r} is not a recovered motif: {sorted(recovered.index)}"
assert recovered[answer] == recovered.min(), (
    f"{answer} has overlap {recovered[answer]:.2f}; {recovered.idxmin()} has {recovered.min():.2f}")
print("correct")

# %% [markdown]
# ## On a real model
#
# The same three calls on DeepSTARR over the shipped fly enhancers (`data.fly_enhancers()`, target `dev`
# or `hk`, `database="insects"`) take several minutes on a laptop, too long for this notebook:
# `python benchmarks/atscale.py --only deepstarr` runs them and prints which of the paper's motif
# families (GATA, AP-1, twist, Trl, ETS, Dref, Ohler...) come out.
#
# ## What a student should not conclude
#
# - **A pattern is the model's, not the genome's.** TF-MoDISco summarises what the model attends to;
#   a wrong model gives confident patterns too.
# - **Similar factors merge.** FOSL1 and MAFK share a core here and come out as one pattern (one
#   reason why an overlap can be low).
# - **Few sequences, few shuffles** (as here) give noisy CWMs; a study uses thousands of sequences and
#   20 or more references.
# - **A Tomtom match is a similarity**, with p-values that depend on the target collection.
