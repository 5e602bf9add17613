"""Training and evaluation of sequence-to-activity models on any :class:`~xai_widgets.data.Dataset`
(the synthetic tasks, shipped real data, data read from files)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from .._core import predict, resolve_device
from ..data.dataset import Dataset
from ..data.encoding import reverse_complement
from ..metrics import auroc, average_precision, pearson

LOSSES = {"multilabel": nn.BCEWithLogitsLoss, "binary": nn.BCEWithLogitsLoss, "regression": nn.MSELoss}


@dataclass
class TrainingResult:
    """What :func:`train` did.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (weights of the best validation epoch), in eval mode on the CPU.
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss``.
    best_epoch : int
        Epoch (1-based) whose weights were kept.
    seconds : float
        Wall time.
    """

    model: nn.Module
    history: list = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0


def _check_task_model(model: nn.Module, task: Dataset) -> None:
    if not isinstance(task, Dataset):
        raise TypeError(f"expected an xai_widgets.data.Dataset (or a synthetic task); got {type(task).__name__}. "
                        "Wrap arrays with data.Dataset.from_arrays(X, y).")
    if task.y is None:
        raise ValueError(f"data set {task.name!r} has no labels y, so a model cannot be trained or evaluated on it")
    absent = [s for s in ("train", "valid") if s not in task.splits]
    if absent:
        raise ValueError(f"data set {task.name!r} has no {absent[0]!r} split (it has {list(task.splits)}): "
                         "make them with task.random_split((0.8, 0.1, 0.1))")
    with torch.no_grad():
        was_training = model.training
        out = model.eval()(task.X[:2].to(next(model.parameters()).device))
        model.train(was_training)
    if out.ndim != 2 or out.shape[1] != task.y.shape[1]:
        raise ValueError(f"the model returns shape {tuple(out.shape)} but task {task.name!r} has "
                         f"{task.y.shape[1]} target(s): build it with n_targets={task.y.shape[1]}")


def train(model: nn.Module, task: Dataset, *, epochs: int = 30, batch_size: int = 128, lr: float = 1e-3,
          weight_decay: float = 0.0, patience: int = 4, rc_augment: bool = False, device="auto",
          random_state: int = 0, progress: bool = False) -> TrainingResult:
    """Train ``model`` on the task's train split with Adam, early-stopping on the valid split.

    The loss follows ``task.kind``: binary cross-entropy on logits for classification
    (``"binary"``, ``"multilabel"``), mean squared error for ``"regression"``. Training stops after ``patience`` epochs
    without a lower validation loss, and the best epoch's weights are restored.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)`` with ``T`` the task's number of targets.
    task : Dataset
        Any data set with labels (a synthetic task, shipped real data, data from files); uses
        its ``"train"`` and ``"valid"`` splits (``task.random_split(...)`` makes them).
    epochs : int, optional
        Most passes over the train split; default 30.
    batch_size : int, optional
        Sequences per SGD step (a training setting, recorded in the card); default 128.
    lr : float, optional
        Adam's learning rate; default 0.001.
    weight_decay : float, optional
        Adam's weight decay; default 0.0.
    patience : int, optional
        Epochs without a lower validation loss before stopping; default 4.
    rc_augment : bool, optional
        Default False. Also train on the reverse complement of every batch (same labels).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available.
    random_state : int, optional
        Seeds batch order and dropout; default 0 (training is reproducible unless told otherwise).
    progress : bool, optional
        Default False. Show a ``tqdm`` bar over epochs (an ipywidgets bar in Jupyter).

    Returns
    -------
    TrainingResult

    Raises
    ------
    TypeError, ValueError
        When ``task`` is not a Dataset, has no labels or no train/valid split, or the model's
        output does not match its number of targets.
    """
    if epochs < 1 or batch_size < 1 or patience < 1:
        raise ValueError("epochs, batch_size and patience must be >= 1")
    device = resolve_device(device)
    model.to(device)
    _check_task_model(model, task)
    loss_fn = LOSSES[task.kind]()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr,
                                 weight_decay=weight_decay)
    train_idx = torch.as_tensor(task.splits["train"])
    X_valid, y_valid = task.X[task.splits["valid"]], task.y[task.splits["valid"]]
    generator = torch.Generator().manual_seed(random_state)
    torch.manual_seed(random_state)
    start_time = time.perf_counter()
    best_loss, best_state, best_epoch, history = float("inf"), None, 0, []
    bar = tqdm(range(1, epochs + 1), desc=f"training on {task.name}", disable=not progress, unit="epoch")
    for epoch in bar:
        model.train()
        order = train_idx[torch.randperm(len(train_idx), generator=generator)]
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            X, y = task.X[rows].to(device), task.y[rows].to(device)
            if rc_augment:
                X, y = torch.cat([X, reverse_complement(X)]), torch.cat([y, y])
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            seen += len(y)
        valid_loss = float(loss_fn(predict(model, X_valid, batch_size=512, device=device), y_valid))
        history.append({"epoch": epoch, "train_loss": total / seen, "valid_loss": valid_loss})
        bar.set_postfix(train=f"{total / seen:.4f}", valid=f"{valid_loss:.4f}")
        if valid_loss < best_loss - 1e-6:
            best_loss, best_epoch = valid_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    bar.close()
    model.load_state_dict(best_state)
    model.eval().cpu()
    return TrainingResult(model, history, best_epoch, time.perf_counter() - start_time)


def evaluate(model: nn.Module, task: Dataset, *, split: str = "test", batch_size: int | None = None,
             device="auto") -> dict:
    """Held-out metrics of ``model`` on the ``split`` rows of a labelled :class:`~xai_widgets.data.Dataset`.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    task : Dataset
        A data set with labels ``y``.
    split : str, optional
        Default ``"test"``; ``"train"``, ``"valid"`` or ``"all"`` (every row).
    batch_size : int, optional
        Default None: from the memory rule (:func:`xai_widgets._core.resolve_batch_size`).
    device : str or torch.device, optional
        Default ``"auto"``: CUDA when available.

    Returns
    -------
    dict
        Classification: ``auroc`` and ``auprc`` (means over targets) and ``per_target_auroc``.
        Regression: ``pearson`` and ``mse`` (first target) and ``per_target_pearson``.
    """
    if task.y is None:
        raise ValueError(f"data set {task.name!r} has no labels y to evaluate against")
    subset = task.subset(split) if split != "all" else task
    scores = predict(model, subset.X, batch_size=batch_size, device=device)
    y = subset.y
    if task.kind == "regression":
        per = {name: pearson(scores[:, t], y[:, t]) for t, name in enumerate(task.target_names)}
        return {"pearson": sum(per.values()) / len(per), "mse": float(((scores - y) ** 2).mean()),
                "per_target_pearson": per, "n": len(y)}
    per = {name: auroc(scores[:, t], y[:, t]) for t, name in enumerate(task.target_names)}
    ap = [average_precision(scores[:, t], y[:, t]) for t in range(y.shape[1])]
    return {"auroc": sum(per.values()) / len(per), "auprc": sum(ap) / len(ap), "per_target_auroc": per,
            "n": len(y)}
