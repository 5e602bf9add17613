# %% [markdown]
# # 01 · Sequence-to-activity models, synthetic tasks and the zoo
#
# **Time:** about 15 minutes.
#
# **Learning goals.** After this notebook you can
# 1. turn DNA into the one-hot tensors `(N, 4, L)` every model and method in this course uses;
# 2. read a JASPAR motif as a probability matrix and say how much information each position carries;
# 3. generate a synthetic data set whose *ground truth* (which motif is where) you know exactly;
# 4. train a small convolutional network on it, and load the pre-trained models of the zoo.
#
# Why synthetic data? Explanations of a model are only useful if they are *right*, and on real
# genomes nobody knows the right answer. Here we plant motifs ourselves, so later notebooks can
# check every explanation method against the truth.

# %%
import torch

from xai_widgets import data, zoo

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("device:", device)

# %% [markdown]
# ## 1. One-hot encoding
#
# A sequence of length L becomes a 4 x L matrix with rows A, C, G, T and a single 1 per column.
# Models take a *batch*, so `one_hot` always returns `(N, 4, L)`, also for one string.

# %%
# NBVAL_CHECK_OUTPUT
X = data.one_hot("ACGTTGCA")
print(X.shape)
print(X[0])

# %%
# NBVAL_CHECK_OUTPUT
print(data.decode(data.reverse_complement(X)))
print(data.one_hot("ACNT", unknown="uniform")[0, :, 2])  # N must be asked for explicitly

# %% [markdown]
# ## 2. Motifs
#
# A transcription factor's binding preference is a *position probability matrix*: for each position,
# the probability of each base. Its **information content** (in bits, at most 2 per position) says how
# strongly a position is constrained. The package ships the JASPAR 2024 matrices used by the tasks.

# %%
# NBVAL_CHECK_OUTPUT
cebpb = data.get_motif("CEBPB")
print(cebpb.label, cebpb.consensus)
print("bits per position:", cebpb.information_content().round(2))
print("total:", round(float(cebpb.information_content().sum()), 2), "bits")

# %% [markdown]
# ## 3. A synthetic task with ground truth
#
# `motif_presence` follows Koo & Eddy (2019): each 200-nt random sequence gets 1 to 5 of 12 TF
# motifs, on either strand; the 12 labels say which TFs were planted. Besides `X` and `y`, the task
# keeps every planted instance and a mask of the planted positions that carry information.

# %%
# NBVAL_CHECK_OUTPUT
task = data.motif_presence(n=6000, random_state=0)
print(task)
print(task.target_names)

# %%
# NBVAL_CHECK_OUTPUT
i = 0
print("planted:", task.instances.for_sequence(i))
print("labels: ", [name for name, y in zip(task.target_names, task.y[i]) if y])
print("ground-truth positions:", int(task.mask[i].sum()))

# %% [markdown]
# ### Exercise 1
# Which TFs were planted in sequence 5, and on which strand is the first of them? Use
# `task.instances.for_sequence`. Replace the answers below with your own and run the check.

# %%
# your answer; hint: each instance is (name, start, end, strand)
### BEGIN SOLUTION
tfs_in_sequence_5 = {m for m, start, end, strand in task.instances.for_sequence(5)}
strand_of_first = task.instances.for_sequence(5)[0][3]
### END SOLUTION

# %%
assert tfs_in_sequence_5 is not ... and strand_of_first is not ..., "Not yet: replace each ... above."
truth = task.instances.for_sequence(5)
assert tfs_in_sequence_5 == {m for m, *_ in truth}, "Not yet: look at the motif names in for_sequence(5)."
assert strand_of_first == truth[0][3], "Not yet: the strand is the last field, +1 or -1."
print("Correct!")

# %% [markdown]
# ## 4. Train a small CNN
#
# A DeepBind-style network is a single layer of convolutional filters (each one a PWM scanner),
# a max over positions, and a small dense head. `zoo.train` uses the task's train split, stops
# early on the validation split and shows a progress bar. On a laptop CPU this takes well under
# a minute (the slowest cell of this notebook: 15-40 s on one CPU core).

# %%
model = zoo.build("deepbind", n_targets=12)
result = zoo.train(model, task, epochs=15, lr=3e-3, patience=3, device=device)
metrics = zoo.evaluate(result.model, task, split="test", device=device)
print(f"test AUROC after {len(result.history)} epochs: {metrics['auroc']:.2f}")

# %% [markdown]
# ## 5. The zoo
#
# Training well takes longer, so the package ships trained models. Each has a *model card* with
# its data seed, architecture, training settings and held-out metrics.
#
# **Outputs are logits.** The classification models (all but `cooperative_grammar`'s regression) end in a
# linear layer without a sigmoid: each output is a logit, log(p / (1 - p)), and `torch.sigmoid` turns it
# into a probability. Training uses a loss that applies the sigmoid itself. Every attribution in this
# course explains the logit, which is additive where probabilities saturate.

# %%
# NBVAL_CHECK_OUTPUT
for name in zoo.list_models():
    card = zoo.model_card(name)
    metric = card["floor"]["metric"]
    print(f"{name:36s} {card['architecture']:10s} test {metric} {card['metrics']['test'][metric]:.3f}")

# %%
# NBVAL_CHECK_OUTPUT
expert = zoo.load("basset_exp_motif_presence", device=device)
per_tf = zoo.evaluate(expert, task, split="test", device=device)["per_target_auroc"]
for tf, value in per_tf.items():
    print(f"{tf:7s} {value:.3f}")

# %% [markdown]
# ### Exercise 2
# Which TF does the expert model find hardest (lowest AUROC)? Compare its information content
# with CEBPB's.

# %%
# your answer; hint: per_tf maps each TF to its AUROC
### BEGIN SOLUTION
hardest = min(per_tf, key=per_tf.get)
### END SOLUTION

# %% tags=["check"]
assert hardest is not ..., "Not yet: replace the ... above with a TF name."
lowest = sorted(per_tf.items(), key=lambda item: item[1])[0]
assert hardest == lowest[0], f"Not yet: {hardest} has AUROC {per_tf[hardest]:.3f}; one TF has a lower one."
print("Correct:", hardest, round(float(data.get_motif(hardest).information_content().sum()), 1), "bits vs CEBPB",
      round(float(data.get_motif("CEBPB").information_content().sum()), 1), "bits")

# %% [markdown] tags=["answer"]
# **Example answer.** Arid3a: its matrix carries about 10 bits against CEBPB's 16. A short AT-rich motif
# with little information also occurs by chance in random DNA, so "planted" and "chance" look alike and
# no model separates them well.

# %% [markdown]
# ## What can go wrong
#
# * **Short, low-information motifs** (Arid3a: 6 bases, about 10 bits) also occur by chance in random
#   DNA, so no model can tell "planted" from "chance" perfectly. Any explanation of such a label is
#   fuzzy too.
# * **A model is only as good as its training.** The small CNN above, stopped after a few epochs,
#   has learned only some motifs; explanations of an under-trained model show what *it* learned, not
#   what the data contain.
# * **Synthetic is not genomic.** Uniform random backgrounds lack the GC, repeats and
#   co-occurrences of real DNA; planted truth makes methods testable, not biology simple.
