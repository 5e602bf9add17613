"""The NucleotideFlipper's state without a view: the edited sequence, its history and the
attributions of the current sequence."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..._core import predict, resolve_device
from ...data import ALPHABET, decode, differing_shuffle
from ...methods import ISMResult, diagnose, get_method, mutagenesis_at
from ._common import LRUCache, content_digest, menu_method, menu_methods, menu_options, resolve_target


@dataclass(frozen=True)
class FlipperState:
    """One entry of the edit history.

    Attributes
    ----------
    X : torch.Tensor, shape (1, 4, L)
        The sequence after this edit.
    label : str
        What changed (``"start"``, ``"12 A>G"``, ``"knock-out 10-20"``, ...).
    predictions : torch.Tensor, shape (T,)
        All model outputs for ``X``.
    """

    X: torch.Tensor
    label: str
    predictions: torch.Tensor

    @property
    def sequence(self) -> str:
        return decode(self.X)[0]


class FlipperCore:
    """Edit history of one sequence and the attributions of its current state (no view).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, shape (1, 4, L)
        The starting sequence, one-hot.
    target : int or str, optional
        Output explained; default None: the model's only output (a multi-output model needs
        ``target=<index or name>``).
    method : str, optional
        An interactive attribution method of the registry that applies to the model
        (:attr:`available_methods`, from :func:`~xai_widgets.methods.method_names`); default ``"ism"``.
    method_options : dict, optional
        Keyword arguments per method, each replacing that method's interactive defaults
        (:attr:`~xai_widgets.methods.AttributionMethod.defaults`); default None.
    batch_size : int, optional
        Default None: the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``.
    random_state : int, optional
        Seed of the knock-out shuffles; default 0.
    cache_size : int, optional
        Attribution results kept (per method, target and sequence content); default 64.
    """

    def __init__(self, model: nn.Module, X: torch.Tensor, *, target=None, method: str = "ism",
                 method_options: dict | None = None, batch_size: int | None = None, device="auto",
                 random_state: int = 0, cache_size: int = 64):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.model = model
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.random_state = random_state
        self.original = X
        self.method_options = menu_options(method_options)
        self._cache = LRUCache(cache_size)
        first = predict(model, X, device=self.device)[0]
        self.n_outputs = len(first)
        self._states = [FlipperState(X, "start", first)]
        self._cursor = 0
        self._n_knockouts = 0
        self.available_methods = menu_methods(model, X)
        self.method = self.check_method(method)
        self.target = self.check_target(target)
        self.ism = None
        self.attribution = None
        self.diagnosis = None
        # (cache key, positions done (L,) bool, ISMResult there) of ism_at; result("ism") completes it
        self._partial = None

    # ---- state --------------------------------------------------------------------------
    @property
    def X(self) -> torch.Tensor:
        """The current sequence, one-hot ``(1, 4, L)``."""
        return self._states[self._cursor].X

    @property
    def sequence(self) -> str:
        """The current sequence as a string."""
        return self._states[self._cursor].sequence

    @property
    def states(self) -> list[FlipperState]:
        """Every state, undone ones included."""
        return list(self._states)

    @property
    def cursor(self) -> int:
        """Index of the current state in :attr:`states`."""
        return self._cursor

    @property
    def history(self) -> list[FlipperState]:
        """States from the start to the current one (undone states are not included)."""
        return self._states[: self._cursor + 1]

    @property
    def prediction(self) -> float:
        """The model's output ``target`` for the current sequence."""
        return float(self._states[self._cursor].predictions[self.target])

    def check_target(self, target) -> int:
        return resolve_target(self.model, target, self.n_outputs)

    def check_method(self, method: str) -> str:
        return menu_method(self.model, self.original, method, self.available_methods)

    # ---- edits --------------------------------------------------------------------------
    def edit(self, position: int, base) -> bool:
        """Substitute ``base`` (``"A"``..``"T"`` or 0..3) at ``position``; False (a no-op) if already there."""
        length = self.X.shape[2]
        if not 0 <= position < length:
            raise ValueError(f"position {position} is outside the sequence (0..{length - 1})")
        index = ALPHABET.find(base.upper()) if isinstance(base, str) and len(base) == 1 else base
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < 4:
            raise ValueError(f"base must be one of A, C, G, T or 0..3; got {base!r}")
        index, old = int(index), int(self.X[0, :, position].argmax())
        if old == index:
            return False
        X = self.X.clone()
        X[0, :, position] = 0
        X[0, index, position] = 1
        self._push(X, f"{position} {ALPHABET[old]}>{ALPHABET[index]}")
        return True

    def flip(self, position: int) -> bool:
        """Turn the base at ``position`` into the next one (A>C>G>T>A)."""
        return self.edit(position, (int(self.X[0, :, position].argmax()) + 1) % 4)

    def set_sequence(self, X: torch.Tensor, label: str = "set") -> bool:
        """Make ``X`` (one-hot ``(1, 4, L)``, the starting length) the current sequence, as one edit."""
        if X.shape != self.X.shape:
            raise ValueError(f"the sequence must keep its length {self.X.shape[2]}; got {X.shape[2]}")
        if torch.equal(X, self.X):
            return False
        self._push(X.clone(), label)
        return True

    def knock_out(self, start: int, end: int) -> None:
        """Replace ``[start, end)`` by a shuffle of itself that differs from it
        (:func:`~xai_widgets.data.differing_shuffle`); each call draws anew."""
        start, end = self.check_span(start, end)
        seed = self.random_state + self._n_knockouts
        self._n_knockouts += 1
        X = self.X.clone()
        X[:, :, start:end] = differing_shuffle(self.X[:, :, start:end], random_state=seed)
        self._push(X, f"knock-out {start}-{end}")

    def restore(self, start: int, end: int) -> None:
        """Put the starting sequence's bases back in ``[start, end)``."""
        start, end = self.check_span(start, end)
        X = self.X.clone()
        X[:, :, start:end] = self.original[:, :, start:end]
        self._push(X, f"restore {start}-{end}")

    def undo(self) -> bool:
        """Go back one edit (False, a no-op, at the start)."""
        if self._cursor > 0:
            self._cursor -= 1
            return True
        return False

    def redo(self) -> bool:
        """Re-apply an undone edit (False, a no-op, when there is none)."""
        if self._cursor < len(self._states) - 1:
            self._cursor += 1
            return True
        return False

    def reset(self) -> None:
        """Back to the starting sequence, clearing the history."""
        self._states = self._states[:1]
        self._cursor = 0

    def check_span(self, start: int, end: int) -> tuple[int, int]:
        if not 0 <= start < end <= self.X.shape[2]:
            raise ValueError(f"need 0 <= start < end <= {self.X.shape[2]}; got start={start}, end={end}")
        return int(start), int(end)

    def _push(self, X: torch.Tensor, label: str) -> None:
        predictions = predict(self.model, X, device=self.device)[0]
        self._states = self._states[: self._cursor + 1] + [FlipperState(X, label, predictions)]
        self._cursor += 1

    # ---- computations -------------------------------------------------------------------
    def result(self, method: str, X: torch.Tensor | None = None):
        """``method``'s result for ``X`` (default the current sequence) and :attr:`target`,
        memoised by method, target and sequence content. ISM after :meth:`ism_at` for the same
        sequence and target computes only the positions that call left out."""
        X = self.X if X is None else X
        key = (method, self.target, content_digest(X))
        if method == "ism" and self._partial is not None and self._partial[0] == key:
            partial, self._partial = self._partial, None
            return self._cache.get(key, lambda: self._complete(X, *partial[1:]))
        return self._cache.get(key, lambda: get_method(method).run(
            self.model, X, target=self.target, device=self.device, batch_size=self.batch_size,
            options=self.method_options.get(method)))

    def has_result(self, method: str) -> bool:
        """Whether ``method``'s result for the current sequence and target is memoised."""
        return (method, self.target, content_digest(self.X)) in self._cache

    def ism_at(self, start: int, end: int) -> ISMResult:
        """ISM of the current sequence and :attr:`target` at positions ``[start, end)``
        (:func:`~xai_widgets.methods.mutagenesis_at`), added to what earlier calls for the same
        sequence and target computed: ``delta`` holds every position computed so far and zero
        elsewhere. The whole memoised result when there is one. The next :meth:`compute` predicts
        only the positions no call computed, so a view can show the visible window first, then
        more, at no extra cost overall.

        With ISM options other than ``batch_size`` (:attr:`method_options`) the whole map is
        computed here, by :func:`~xai_widgets.methods.saturation_mutagenesis` with those options.
        """
        start, end = self.check_span(start, end)
        X = self.X
        key = ("ism", self.target, content_digest(X))
        if key in self._cache or set(self.method_options.get("ism", {})) - {"batch_size"}:
            return self.result("ism", X)
        if self._partial is None or self._partial[0] != key:
            self._partial = (key, torch.zeros(X.shape[2], dtype=torch.bool), None)
        _, done, partial = self._partial
        todo = torch.arange(start, end)[~done[start:end]]
        if len(todo):
            new = self._ism_positions(X, todo)
            partial = new if partial is None else replace(partial, delta=partial.delta + new.delta)
            done[todo] = True
            self._partial = (key, done, partial)
        return partial

    def window_maps(self, start: int, end: int) -> tuple[torch.Tensor, torch.Tensor]:
        """ISM ``delta`` and ISM attribution (``.values``), each ``(4, end - start)``, of the
        current sequence and :attr:`target` at positions ``[start, end)``, by :meth:`ism_at`."""
        partial = self.ism_at(start, end)
        return partial.delta[0, :, start:end], partial.values[0, :, start:end]

    def _ism_positions(self, X: torch.Tensor, positions: torch.Tensor) -> ISMResult:
        batch_size = self.method_options.get("ism", {}).get("batch_size", self.batch_size)
        return mutagenesis_at(self.model, X, positions=positions, target=self.target, device=self.device,
                              batch_size=batch_size)

    def _complete(self, X: torch.Tensor, done: torch.Tensor, partial: ISMResult) -> ISMResult:
        """The whole ISM of ``X`` from ``partial`` (computed where ``done``) and the other positions."""
        if bool(done.all()):
            return partial
        other = self._ism_positions(X, torch.nonzero(~done).squeeze(1))
        return replace(partial, delta=partial.delta + other.delta)

    def compute(self):
        """ISM of the current sequence (the heatmap) and the logo's map ``(4, L)`` of :attr:`method`;
        also kept as :attr:`ism` and :attr:`attribution`."""
        self.check_method(self.method)
        self.ism = self.result("ism")
        self.attribution = self.result(self.method).values[0]
        return self.ism, self.attribution

    def diagnose(self):
        """:func:`xai_widgets.methods.diagnose` of the current sequence and target (kept as :attr:`diagnosis`)."""
        self.diagnosis = diagnose(self.model, self.X, target=self.target, device=self.device,
                                  random_state=self.random_state)
        return self.diagnosis
