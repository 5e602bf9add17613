"""The SpacingSweep's computations without a view or a thread: settings, the sweep (one
orientation at a time, with a cancel point between), its summary and an example sequence."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..._core import predict, resolve_device
from ...contract import input_length
from ...data import ORIENTATIONS, Motif, b_start, backgrounds, bundled_motifs, get_motif, insert_motifs, jaspar_motifs
from ...methods import saturation_mutagenesis, spacing_sweep
from ._common import resolve_target


@lru_cache(maxsize=1)
def motif_names() -> tuple[str, ...]:
    """Names offered in the motif boxes: the bundled set, then every JASPAR 2024 CORE vertebrate."""
    names = list(bundled_motifs())
    return tuple(dict.fromkeys(names + sorted(m.name for m in jaspar_motifs())))


def resolve_motif(text: str):
    """A motif name (bundled set or JASPAR) as a :class:`Motif`, or an ACGT string as a consensus."""
    text = text.strip()
    if text and set(text.upper()) <= set("ACGT") and len(text) >= 4:
        try:
            return get_motif(text)
        except (KeyError, ValueError):
            return text.upper()
    try:
        return get_motif(text)
    except (KeyError, ValueError) as error:
        raise ValueError(f"unknown motif {text!r}: type a name from the list (bundled or JASPAR) or an ACGT "
                         "consensus of at least 4 bases") from error


class SweepCore:
    """Motif-spacing sweeps of one model (no view, no thread). Parameters as
    :class:`~xai_widgets.widgets.SpacingSweep`."""

    def __init__(self, model: nn.Module, *, background_sequences=None, length: int | None = None, target=None,
                 device="auto", random_state: int = 0):
        self.model, self.device, self.random_state = model, resolve_device(device), random_state
        self.background_sequences = background_sequences
        self.length = length or (background_sequences.shape[2] if background_sequences is not None
                                 else input_length(model))
        if self.length is None:
            raise ValueError("give length= (or background_sequences=): the model does not say its input length")
        probe = torch.zeros(1, 4, self.length)
        probe[:, 0] = 1
        with torch.no_grad():
            self.n_outputs = int(model.eval().to(self.device)(probe.to(self.device)).shape[1])
        self.target = self.check_target(target)

    def check_target(self, target) -> int:
        return resolve_target(self.model, target, self.n_outputs)

    def settings(self, motif_a: str, motif_b: str, orientations, spacings, n_backgrounds: int):
        """The arguments of :meth:`sweep`: resolved motifs, orientations, every spacing, backgrounds."""
        motif_a, motif_b = resolve_motif(motif_a), resolve_motif(motif_b)
        orientations = tuple(o for o in ORIENTATIONS if o in orientations)
        if not orientations:
            raise ValueError("tick at least one orientation")
        low, high = spacings
        bgs = backgrounds(n_backgrounds, self.length, from_sequences=self.background_sequences,
                          random_state=self.random_state) if self.background_sequences is not None else \
            backgrounds(n_backgrounds, self.length, random_state=self.random_state)
        return motif_a, motif_b, orientations, list(range(low, high + 1)), bgs

    def sweep(self, motif_a, motif_b, orientations, spacings, bgs, *, cancelled=lambda: False,
              on_block=lambda n: None):
        """One :func:`~xai_widgets.methods.spacing_sweep` per orientation; ``cancelled()`` is
        asked before each block and ``on_block(n)`` told after it. Returns the parts, or None
        when cancelled."""
        parts = []
        for orientation in orientations:
            if cancelled():
                return None
            parts.append(spacing_sweep(self.model, bgs, motif_a=motif_a, motif_b=motif_b, spacings=spacings,
                                       orientations=(orientation,), target=self.target, device=self.device,
                                       random_state=self.random_state))
            on_block(len(parts))
        return None if cancelled() else parts

    @staticmethod
    def peak(parts):
        """``(part, orientation, spacing, index)`` of the largest mean effect."""
        best = max(parts, key=lambda p: float(torch.nan_to_num(p.effect, nan=-np.inf).max()))
        orientation, spacing = best.peak()
        return best, orientation, spacing, int((best.spacings == spacing).nonzero()[0])

    @staticmethod
    def best_orientation(parts, spacing: int) -> tuple[str, int]:
        """The orientation with the largest effect at the swept spacing nearest ``spacing``, and that spacing."""
        spacings = parts[0].spacings
        s = int((spacings - round(spacing)).abs().argmin())
        effects = [float(torch.nan_to_num(p.effect[0, s], nan=-np.inf)) for p in parts]
        return parts[int(np.argmax(effects))].orientations[0], int(spacings[s])

    def example(self, parts, inputs, orientation: str, spacing: int) -> dict:
        """Both motifs placed in the first background at ``spacing``, with its ISM and prediction."""
        motif_a, motif_b, bgs = inputs
        part = next(p for p in parts if p.orientations[0] == orientation)
        width_a, width_b = (m.width if isinstance(m, Motif) else len(m) for m in (motif_a, motif_b))
        start_b = b_start(part.position_a, spacing, orientation=orientation, width_a=width_a, width_b=width_b)
        if not 0 <= start_b <= self.length - width_b:
            raise ValueError(f"motif B falls off the sequence at spacing {spacing} ({orientation})")
        X = insert_motifs(bgs[:1], [(motif_a, part.position_a, orientation[0]), (motif_b, start_b, orientation[1])],
                          random_state=self.random_state)
        ism = saturation_mutagenesis(self.model, X, target=self.target, device=self.device)
        prediction = float(predict(self.model, X, device=self.device)[0, self.target])
        return {"X": X, "values": ism.values[0], "orientation": orientation, "spacing": spacing,
                "ism": ism, "prediction": prediction,
                "sites": [(part.motif_names[0], part.position_a, part.position_a + width_a, orientation[0]),
                          (part.motif_names[1], start_b, start_b + width_b, orientation[1])]}

