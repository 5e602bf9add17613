"""Pieces every widget shares: input coercion and Bokeh hosting."""

from __future__ import annotations

import json
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import torch

from ..data.encoding import check_one_hot, one_hot


def as_sequence(sequence) -> torch.Tensor:
    """One sequence as a one-hot ``(1, 4, L)`` float tensor, from a string or a tensor.

    Parameters
    ----------
    sequence : str or torch.Tensor, shape (4, L) or (1, 4, L)
    """
    if isinstance(sequence, str):
        return one_hot(sequence)
    if not isinstance(sequence, torch.Tensor):
        raise TypeError(f"sequence must be a string or a one-hot tensor (4, L); got {type(sequence).__name__}")
    X = sequence[None] if sequence.ndim == 2 else sequence
    if X.ndim != 3 or X.shape[0] != 1:
        raise ValueError(f"pass one sequence: shape (4, L) or (1, 4, L); got {tuple(sequence.shape)}")
    return check_one_hot(X.detach().float().cpu().clone())


def target_options(model, n_outputs: int, target_names=None) -> list[tuple[str, int]]:
    """``(label, index)`` pairs for a target dropdown: given names, a zoo card's, or ``output i``."""
    if target_names is None:
        target_names = getattr(model, "card", {}).get("task", {}).get("target_names")
    if target_names is None or len(target_names) != n_outputs:
        target_names = [f"output {t}" for t in range(n_outputs)]
    return [(f"{t}: {name}", t) for t, name in enumerate(target_names)]


def update_source(source, data: dict, max_patched_rows: int = 64) -> None:
    """Send only what changed: patch a few rows, replace changed columns, or assign everything.

    When ``data`` has the same columns and length as ``source.data``, columns that are equal
    are skipped, columns with at most ``max_patched_rows`` changed rows are patched, and the
    rest are replaced together in one update; otherwise ``source.data`` is assigned whole.
    A click then sends a few numbers to the browser instead of every column.
    """
    current = source.data
    lengths = {len(v) for v in current.values()}
    if set(current) != set(data) or lengths != {len(v) for v in data.values()}:
        source.data = data
        return
    patches, replaced = {}, {}
    for key, new in data.items():
        old, new_array = np.asarray(current[key]), np.asarray(new)
        changed = np.flatnonzero(old != new_array)
        if not len(changed):
            continue
        if len(changed) <= max_patched_rows:
            patches[key] = [(int(i), new_array[i].item()) for i in changed]
        else:
            replaced[key] = new
    if replaced:
        source.data.update(replaced)
    if patches:
        source.patch(patches)


def bokeh_widget(layout):
    """Wrap a Bokeh layout as an ipywidget (BokehJS loaded INLINE first); see :class:`BatchedBokehModel`."""
    from ..plots import setup_notebook

    setup_notebook()
    return _batched_bokeh_model_class()(layout)


@lru_cache(maxsize=None)
def _batched_bokeh_model_class():
    from bokeh.protocol import Protocol
    from jupyter_bokeh import BokehModel

    class BatchedBokehModel(BokehModel):
        """A ``jupyter_bokeh.BokehModel`` that can send many document changes as one message.

        Inside ``with model.batched():`` changes are collected and sent as one ``PATCH-DOC``
        message on exit, so BokehJS applies them together and redraws once. Outside, each
        change is sent at once, as ``BokehModel`` does.
        """

        _pending = None

        @contextmanager
        def batched(self):
            self._pending = []
            try:
                yield
            finally:
                events, self._pending = self._pending, None
                if events:
                    self._send_patch(events)

        def _document_patched(self, event) -> None:
            if event.setter is self:  # came from the browser
                return
            if self._pending is not None:
                self._pending.append(event)
            else:
                self._send_patch([event])

        def _send_patch(self, events) -> None:
            # the message layout of jupyter_bokeh 4 (header, metadata, content, then each buffer)
            msg = Protocol().create("PATCH-DOC", events)
            for part in (msg.header_json, msg.metadata_json, msg.content_json):
                self.send({"msg": "patch", "payload": part})
            for buffer in msg.buffers:
                self.send({"msg": "patch", "payload": json.dumps(buffer.ref)})
                self.send({"msg": "patch"}, [buffer.to_bytes()])

    return BatchedBokehModel
