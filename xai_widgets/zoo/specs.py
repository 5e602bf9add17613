"""The recipe of every shipped model: architecture, task, data seed and training settings.

:func:`train_from_spec` turns a recipe into trained weights and a model card; the script
``scripts/train_zoo.py`` runs it for every entry of :data:`ZOO_SPECS` and writes the results
into ``xai_widgets/zoo/weights/``.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import asdict, dataclass, field

import torch

from ..data.tasks import SyntheticTask, make_task
from .architectures import build
from .training import evaluate, train

DEFAULT_TRAINING = {"epochs": 60, "batch_size": 128, "lr": 3e-3, "weight_decay": 0.0, "patience": 10,
                    "rc_augment": True, "random_state": 0}
TRAINING_THREADS = 1
"""Recipes train on one CPU thread: the same numbers on any machine, whatever its core count."""


@dataclass(frozen=True)
class ZooSpec:
    """How one zoo model is made and what it must reach.

    ``floor`` is ``(metric, value)``: the held-out test metric the shipped weights must meet.
    ``init_motifs="task"`` sets the first units' filters to the task's planted JASPAR motifs and
    freezes them (transparent models; ExplaiNN only).
    """

    name: str
    architecture: str
    task: str
    config: dict = field(default_factory=dict)
    task_kwargs: dict = field(default_factory=lambda: {"random_state": 0})
    training: dict = field(default_factory=dict)
    floor: tuple = ("auroc", 0.95)
    description: str = ""
    init_motifs: str | None = None

    def training_settings(self) -> dict:
        return {**DEFAULT_TRAINING, **self.training}


ZOO_SPECS: dict[str, ZooSpec] = {s.name: s for s in [
    ZooSpec("deepbind_motif_presence", "deepbind", "motif_presence", {"n_filters": 64}, floor=("auroc", 0.95),
            description="DeepBind-style single conv layer (64 filters of width 19) on motif presence."),
    ZooSpec("basset_relu_motif_presence", "basset", "motif_presence", {"activation": "relu", "filters": [64, 64, 96]},
            floor=("auroc", 0.95), description="Basset-style 3-layer CNN, ReLU first layer, on motif presence."),
    ZooSpec("basset_exp_motif_presence", "basset", "motif_presence", {"activation": "exp", "filters": [64, 64, 96]},
            floor=("auroc", 0.95),
            description="Basset-style 3-layer CNN, exponential first layer (interpretable filters), "
                        "on motif presence."),
    ZooSpec("danq_motif_presence", "danq", "motif_presence", {"n_filters": 48}, training={"epochs": 40, "patience": 6},
            floor=("auroc", 0.90),
            description="DanQ-style CNN + bidirectional LSTM on motif presence."),
    ZooSpec("attention_motif_presence", "attention", "motif_presence", {"n_filters": 48},
            training={"epochs": 30, "patience": 6},
            floor=("auroc", 0.90),
            description="CNN + 2 layers of 4-head self-attention on motif presence; attention maps exposed."),
    ZooSpec("explainn_motif_presence", "explainn", "motif_presence", {"n_units": 32},
            floor=("auroc", 0.95),
            description="ExplaiNN-style transparent model, 32 independent units, on motif presence."),
    ZooSpec("basset_exp_attribution_benchmark", "basset", "attribution_benchmark",
            {"activation": "exp", "filters": [64, 64, 96]},
            floor=("auroc", 0.95),
            description="Basset-style CNN, exponential first layer, on the Koo & Ploenzke attribution benchmark."),
    ZooSpec("basset_relu_attribution_benchmark", "basset", "attribution_benchmark",
            {"activation": "relu", "filters": [64, 64, 96]},
            floor=("auroc", 0.95),
            description="Basset-style CNN, ReLU first layer, on the Koo & Ploenzke attribution benchmark."),
    ZooSpec("basset_relu_cooperative_grammar", "basset", "cooperative_grammar",
            {"activation": "relu", "filters": [64, 64, 96]},
            floor=("pearson", 0.8),
            description="Basset-style CNN regressing the cooperative-grammar activity."),
    ZooSpec("explainn_jaspar_motif_presence", "explainn", "motif_presence", {"n_units": 16}, init_motifs="task",
            training={"lr": 1e-3},
            floor=("auroc", 0.9),
            description="ExplaiNN whose first 12 units are the 12 planted JASPAR motifs (log-odds, frozen) plus 4 "
                        "free units, on motif presence: a transparent model built from known motifs."),
]}


@functools.lru_cache(maxsize=4)
def _cached_task(name: str, kwargs_items: tuple) -> SyntheticTask:
    return make_task(name, **dict(kwargs_items))


def spec_task(spec: ZooSpec) -> SyntheticTask:
    """The task data a spec trains and is evaluated on (cached for repeated use)."""
    return _cached_task(spec.task, tuple(sorted(spec.task_kwargs.items())))


def train_from_spec(spec: ZooSpec, progress: bool = True, device="cpu", **overrides):
    """Train a fresh model from ``spec``; ``overrides`` replace training settings (e.g. ``epochs``).

    Returns
    -------
    (torch.nn.Module, dict)
        The trained model (CPU, eval mode) and its model card.
    """
    task = spec_task(spec)
    settings = {**spec.training_settings(), **overrides}
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAINING_THREADS)
    torch.manual_seed(settings["random_state"])
    model = build(spec.architecture, n_targets=task.y.shape[1], **spec.config)
    if spec.init_motifs == "task":
        model.init_filters_from_motifs(task.motifs, freeze=True)
    elif spec.init_motifs is not None:
        raise ValueError(f"init_motifs must be None or 'task'; got {spec.init_motifs!r}")
    try:
        result = train(model, task, progress=progress, device=device, **settings)
    finally:
        torch.set_num_threads(threads)
    card = {
        "name": spec.name,
        "description": spec.description,
        "architecture": spec.architecture,
        "config": model.config,
        "task": {"name": spec.task, **spec.task_kwargs, "n": len(task), "length": task.X.shape[-1],
                 "target_names": list(task.target_names), "kind": task.kind},
        "training": {**settings, "best_epoch": result.best_epoch, "epochs_run": len(result.history),
                     "seconds": round(result.seconds, 1), "history": result.history},
        "metrics": {"valid": evaluate(model, task, split="valid", device=device),
                    "test": evaluate(model, task, split="test", device=device)},
        "floor": {"metric": spec.floor[0], "value": spec.floor[1], "split": "test"},
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "environment": {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
                        "threads": TRAINING_THREADS},
        "spec": asdict(spec),
    }
    return result.model, card
