"""The edit engine: every edit-based method predicts its edited sequences here.

One pipeline: enumerate the edits (the caller) -> one path decision (:func:`.path.decide`:
fast windows or plain passes, self-checked on the engine that runs, ``method`` meaning one
thing) -> memory-bounded batches -> outputs. The fast path is the one window engine
(:class:`.windows.WindowEngine`), for single-base substitutions and wider window edits alike.

- :func:`predict_substitutions`: single-base edits (ISM, ``mutagenesis_at``, ``predict_edits``,
  DFIM's ISM importance, variant scoring and its null, maximisation, the flipper);
- :func:`predict_windows`: edits of ``W`` bases of single sequences (motif knock-out, double
  mutants of pairwise ISM);
- :func:`predict_lanes`: edits of groups of sequences, with partner lanes (GIA, motif effects,
  spacing sweeps).
"""

from __future__ import annotations

import hashlib
import math
import weakref
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .path import EDIT_METHODS, PathChoice, check_method, decide, edit_batch_size, edited_copies
from .windows import Lane, WindowEngine

__all__ = ["EDIT_METHODS", "EditOutputs", "Lane", "PathChoice", "check_method", "decide", "edited_copies",
           "predict_lanes", "predict_substitutions", "predict_windows", "reference_outputs"]

NAIVE_BATCH = 256
"""Largest forward pass of the plain path (bigger ones are slower on CPU: fresh allocations)."""
BACKGROUND_CHUNK = 128
"""Sequences per group whose activations are cached at once in :func:`predict_lanes`."""


class EditOutputs(NamedTuple):
    """Outputs of a job of edits."""

    reference: torch.Tensor
    """``(N, T)``: outputs of the unedited sequences, on the compute device."""
    outputs: torch.Tensor
    """``(E, T)``: outputs of the edited sequences, in the order of the edits."""
    choice: PathChoice
    """The path that ran and why."""

    @property
    def path(self) -> str:
        """``"fast"`` or ``"naive"``."""
        return self.choice.path


ENGINE_CACHE_SIZE = 2
"""Window engines kept per model (:func:`window_engine`): the flipper asks for several spans of
the same sequence in a row, and each would otherwise redo the forward pass that fills the cache."""
ENGINE_CACHE_MAX_SEQUENCES = 8
"""Larger jobs build their engine afresh and drop it."""
_ENGINES = weakref.WeakKeyDictionary()
"""model -> {key: WindowEngine}, the most recent last."""


def window_engine(model: nn.Module, plan, Xd: torch.Tensor, n: int = 1) -> WindowEngine:
    """A :class:`WindowEngine` for ``plan`` and the sequences ``Xd``, reused when the same model,
    plan, parameter state and sequence content asked last (the newest :data:`ENGINE_CACHE_SIZE`
    are kept, weakly per model; only for a few sequences, :data:`ENGINE_CACHE_MAX_SEQUENCES`, so
    large jobs hold no memory after they return)."""
    if len(Xd) > ENGINE_CACHE_MAX_SEQUENCES:
        return WindowEngine(plan, Xd, n)
    versions = tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))
    content = hashlib.sha256(Xd.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    key = (type(plan).__name__, tuple(id(layer) for layer in plan.layers), n, str(Xd.device), Xd.dtype,
           tuple(Xd.shape), content, versions)
    cache = _ENGINES.setdefault(model, {})
    if key in cache:
        cache[key] = cache.pop(key)  # most recent last
        return cache[key]
    engine = WindowEngine(plan, Xd, n)
    cache[key] = engine
    while len(cache) > ENGINE_CACHE_SIZE:
        del cache[next(iter(cache))]
    return engine


def reference_outputs(model: nn.Module, Xd: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``model(Xd)`` in forward passes of at most ``min(batch_size, NAIVE_BATCH)`` sequences."""
    step = max(1, min(batch_size, NAIVE_BATCH))
    return torch.cat([model(Xd[i : i + step]) for i in range(0, len(Xd), step)])


@torch.no_grad()
def predict_windows(model: nn.Module, X: torch.Tensor, *, rows, starts, values, device, method: str = "auto",
                    batch_size: int | None = None, progress: bool = False, desc: str = "edits",
                    choice: PathChoice | None = None) -> EditOutputs:
    """Outputs of edited copies of ``X``: ``values[e] (4, W)`` written at
    ``[starts[e], starts[e] + W)`` of sequence ``rows[e]``.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode on ``device`` (as :func:`.._common.prepare` leaves it).
    X : torch.Tensor, shape (N, 4, L)
        The unedited sequences, in the model's dtype.
    rows, starts : sequence of int or torch.Tensor, shape (E,)
    values : torch.Tensor, shape (E, 4, W)
        Requires ``0 <= starts[e]`` and ``starts[e] + W <= L``.
    device : torch.device
    method : {"auto", "fast", "naive"}
        See :func:`.path.decide`; default "auto".
    batch_size : int, optional
        Edits per batch; default None: the memory rule for the chosen path.
    progress : bool
        Show a progress bar over batches; default False.
    desc : str
        The bar's label.
    choice : PathChoice, optional
        A decision made already (skips :func:`.path.decide`).

    Returns
    -------
    EditOutputs
    """
    Xd = X.to(device)
    rows = torch.as_tensor(rows, dtype=torch.long, device=device).reshape(-1)
    starts = torch.as_tensor(starts, dtype=torch.long, device=device).reshape(-1)
    width = values.shape[2]
    if choice is None:
        choice = decide(model, Xd, device, n_edits=len(rows), method=method, width=width)
    batch = edit_batch_size(batch_size, choice, model, Xd, device, width)
    if choice.plan is not None:
        engine = window_engine(model, choice.plan, Xd)
        reference = engine.reference_output

        def evaluate(r, s, v):
            return engine.edit(r.cpu().numpy(), s.cpu().numpy(), v)
    else:
        reference = reference_outputs(model, Xd, batch)

        def evaluate(r, s, v):
            return model(edited_copies(Xd, r, s, v.to(device)))
    outputs = torch.empty(len(rows), reference.shape[1], device=reference.device, dtype=reference.dtype)
    for lo in tqdm(range(0, len(rows), batch), desc=desc, disable=not progress, unit="batch"):
        hi = lo + batch
        outputs[lo:hi] = evaluate(rows[lo:hi], starts[lo:hi], values[lo:hi].to(device, Xd.dtype))
    return EditOutputs(reference, outputs, choice)


@torch.no_grad()
def predict_substitutions(model: nn.Module, X: torch.Tensor, *, seq, pos, base, device, method: str = "auto",
                          batch_size: int | None = None, progress: bool = False, desc: str = "ISM",
                          choice: PathChoice | None = None) -> EditOutputs:
    """Outputs of single-base edits of ``X``: sequence ``seq[e]`` with base ``base[e]`` (0..3,
    A, C, G, T) at position ``pos[e]``; as :func:`predict_windows` with ``W = 1``.

    Edits ordered by sequence, then position, share work on the fast path.
    """
    Xd = X.to(device)
    seq = torch.as_tensor(seq, dtype=torch.long, device=device).reshape(-1)
    pos = torch.as_tensor(pos, dtype=torch.long, device=device).reshape(-1)
    base = torch.as_tensor(base, dtype=torch.long, device=device).reshape(-1)
    if choice is None:
        choice = decide(model, Xd, device, n_edits=len(seq), method=method)
    batch = edit_batch_size(batch_size, choice, model, Xd, device)
    if choice.plan is not None:
        engine = window_engine(model, choice.plan, Xd)
        reference = engine.reference_output
        evaluate = engine.edit_substitutions
    else:
        reference = reference_outputs(model, Xd, batch)

        def evaluate(s, p, b):
            return model(edited_copies(Xd, s, p, F.one_hot(b, 4).to(Xd.dtype)[:, :, None]))
    outputs = torch.empty(len(seq), reference.shape[1], device=reference.device, dtype=reference.dtype)
    for lo in tqdm(range(0, len(seq), batch), desc=desc, disable=not progress, unit="batch"):
        hi = lo + batch
        outputs[lo:hi] = evaluate(seq[lo:hi], pos[lo:hi], base[lo:hi])
    return EditOutputs(reference, outputs, choice)


class _LaneEvaluator:
    """Predictions for ``G`` reference groups of ``n`` sequences and for lanes of edits of them:
    the window engine for a fast ``plan``, else edited sequences in forward passes (partners are
    then computed in full)."""

    def __init__(self, model: nn.Module, references: torch.Tensor, n: int, plan, batch_size: int):
        self.model, self.references, self.n, self.batch_size = model, references, n, batch_size
        self.engine = WindowEngine(plan, references, n) if plan is not None else None
        self.reference_output = self.engine.reference_output if self.engine is not None else \
            reference_outputs(model, references, batch_size)

    def families(self, families: list[list[Lane]], target: int, bar=None) -> list[torch.Tensor]:
        """Target outputs ``(len(family), n)`` per family; a lane's partner indexes its own family.
        Families are batched whole (about ``batch_size`` edited sequences a batch) so partners run
        together; lanes of one batch share the edit width."""
        results = [None] * len(families)
        batches, current, size = [], [], 0
        for f, family in enumerate(families):
            if current and (size + len(family) * self.n > self.batch_size
                            or family[0].values.shape[2] != families[current[0]][0].values.shape[2]):
                batches.append(current)
                current, size = [], 0
            current.append(f)
            size += len(family) * self.n
        if current:
            batches.append(current)
        for batch in batches:
            lanes, bounds = [], []
            for f in batch:
                offset = len(lanes)
                lanes += [Lane(lane.group, lane.start, lane.values,
                               None if lane.partner is None else lane.partner + offset, lane.needed)
                          for lane in families[f]]
                bounds.append((f, offset, len(lanes)))
            out = self._run(lanes)[:, :, target]
            for f, lo, hi in bounds:
                results[f] = out[lo:hi]
            if bar is not None:
                bar.update(len(batch))
        return results

    def _run(self, lanes: list[Lane]) -> torch.Tensor:
        if self.engine is not None:
            return self.engine.run(lanes)
        n, T = self.n, self.reference_output.shape[1]
        out = torch.full((len(lanes), n, T), math.nan, dtype=self.reference_output.dtype,
                         device=self.reference_output.device)
        needed = [m for m, lane in enumerate(lanes) if lane.needed]
        if not needed:
            return out
        rows = torch.cat([torch.arange(n) + lanes[m].group * n for m in needed]).to(self.references.device)
        starts = torch.tensor(np.repeat([lanes[m].start for m in needed], n), device=self.references.device)
        values = torch.cat([lanes[m].values for m in needed]).to(self.references.device, self.references.dtype)
        step = min(self.batch_size, NAIVE_BATCH)
        computed = torch.cat([self.model(edited_copies(self.references, rows[i : i + step], starts[i : i + step],
                                                       values[i : i + step]))
                              for i in range(0, len(rows), step)])
        out[needed] = computed.unflatten(0, (len(needed), n))
        return out


@torch.no_grad()
def predict_lanes(model: nn.Module, references: list[torch.Tensor], families: list[list[Lane]], *, target: int,
                  device, method: str = "auto", batch_size: int | None = None, progress: bool = False,
                  desc: str = "edits"):
    """Predictions of reference groups and of families of lanes, chunked over sequences.

    Parameters
    ----------
    model : torch.nn.Module
        In eval mode on ``device``.
    references : list of G tensors, shape (n, 4, L)
        Reference group ``g`` (e.g. the backgrounds, then the backgrounds with A).
    families : list of list of Lane
        Lanes with values ``(n, 4, W)`` (one window per sequence of the group); partners index
        the family; every lane of a family has one width.
    target : int
        The output kept.
    device : torch.device
    method : {"auto", "fast", "naive"}
        See :func:`.path.decide`; default "auto".
    batch_size : int, optional
        Edited sequences a batch; default None: the memory rule for the chosen path.
    progress : bool
        A progress bar over families; default False.

    Returns
    -------
    (torch.Tensor, list of torch.Tensor, PathChoice)
        Target outputs of the references ``(G, n)`` and of each family ``(len(family), n)``, on
        ``device``, and the path that ran.
    """
    n = references[0].shape[0]
    width = max((family[0].values.shape[2] for family in families), default=1)
    probe = references[0].to(device)
    n_edits = sum(len(family) for family in families) * n
    choice = decide(model, probe, device, n_edits=n_edits, method=method, width=width)
    batch = edit_batch_size(batch_size, choice, model, probe, device, width)
    starts = range(0, n, BACKGROUND_CHUNK)
    reference = torch.empty(len(references), n, device=device)
    outputs = [torch.empty(len(family), n, device=device) for family in families]
    with tqdm(total=len(families) * len(starts), desc=desc, disable=not progress, unit="edit") as bar:
        for lo in starts:
            hi = min(lo + BACKGROUND_CHUNK, n)
            evaluator = _LaneEvaluator(model, torch.cat([r[lo:hi] for r in references]).to(device), hi - lo,
                                       choice.plan, batch)
            reference[:, lo:hi] = evaluator.reference_output[:, target].view(len(references), hi - lo)
            chunk = [[Lane(lane.group, lane.start, lane.values[lo:hi].to(device), lane.partner, lane.needed)
                      for lane in family] for family in families]
            for f, out in enumerate(evaluator.families(chunk, target, bar)):
                outputs[f][:, lo:hi] = out
    return reference, outputs, choice
