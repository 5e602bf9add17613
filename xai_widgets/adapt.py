"""Make any model fit the package's contract, once: one-hot ACGT ``(N, 4, L)`` in, ``(N, T)`` out.

>>> from xai_widgets.adapt import adapt
>>> model = adapt(user_model, alphabet="ACTG", input_length=249)          # doctest: +SKIP
>>> model = adapt(bpnet, profile="both")    # outputs "counts" and "profile"  # doctest: +SKIP

:func:`adapt` wraps a model in an :class:`AdaptedModel` (an ``nn.Module``) that

- reorders the input channels when the model reads another alphabet order (``"ACTG"``, ...) and
  transposes them when it reads channels last ``(N, L, 4)``: index operations on the input, so
  gradients flow through them;
- pads (with all-zero ``N`` columns) or crops the input around its centre to a fixed length;
- chooses one head of a tuple or dict output, by index or name;
- turns ``(N,)`` into ``(N, 1)`` and reduces ``(N, T, L')`` tracks over positions (sum, mean or
  the sum over a window);
- for profile models (BPNet and relatives: ``(profile logits, log counts)``) returns the counts
  head, the profile contribution, or both;
- carries ``output_names`` (:func:`xai_widgets.contract.output_names` reads them for every method
  and widget).

Every method and widget accepts an adapted model. When the wrapped model offers a fast-ISM
plan (:class:`xai_widgets.contract.LocalPlan`) the adapted model offers one too as long
as no length change is asked for, with the alphabet permutation folded into the first
convolution's weights.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .contract import LocalPlan, ProfileScaling, first_conv, local_plan
from .contract import card as model_card
from .contract import output_names as declared_names
from .data.encoding import ALPHABET

LENGTH_POLICIES = ("centre", "error")
REDUCTIONS = ("sum", "mean")
PROFILE_MODES = ("counts", "profile", "both")


def acgt_weight(weight: torch.Tensor, alphabet: str) -> torch.Tensor:
    """First-layer weights ``(F, 4, W)`` that read ``alphabet``-ordered channels, reordered to
    read ACGT channels: ``conv(x_ACGT, result) == conv(x_alphabet, weight)``.

    Raises
    ------
    ValueError
        If ``alphabet`` is not a permutation of ``"ACGT"`` or ``weight`` has not 4 input channels.
    """
    if sorted(alphabet.upper()) != sorted("ACGT"):
        raise ValueError(f"alphabet must be a permutation of 'ACGT'; got {alphabet!r}")
    if weight.ndim != 3 or weight.shape[1] != 4:
        raise ValueError(f"expected first-layer weights of shape (F, 4, W); got {tuple(weight.shape)}")
    # channel i of the model reads base alphabet[i]; in ACGT order that base is channel "ACGT".index(...)
    order = [alphabet.upper().index(base) for base in "ACGT"]
    return weight[:, order].clone()


def profile_contribution(logits: torch.Tensor) -> torch.Tensor:
    """The BPNet profile contribution of profile logits, ``(N, ...) -> (N, 1)``.

    The logits of every strand and position are flattened and centred by their mean, and
    weighted by their softmax, which is detached from the graph:
    ``sum_j softmax(l)_j.detach() * (l_j - mean(l))``. The value is bpnet-lite's
    ``ProfileWrapper``; detaching the weights makes gradients the softmax-weighted logit
    gradients (Avsec et al., Nat Genet 2021, "weighted-mean profile contribution";
    tangermeme and bpnet-lite instead give DeepLIFT a non-linear rule for the softmax).

    Parameters
    ----------
    logits : torch.Tensor, shape (N, S, L') or (N, L')

    Returns
    -------
    torch.Tensor, shape (N, 1)
    """
    return _profile_contribution(logits, ProfileScaling())


def _profile_contribution(logits: torch.Tensor, scaling: nn.Module) -> torch.Tensor:
    if logits.ndim < 2:
        raise ValueError(f"profile logits must have shape (N, L') or (N, S, L'); got {tuple(logits.shape)}")
    flat = logits.flatten(1)
    return scaling(flat - flat.mean(dim=1, keepdim=True)).sum(dim=1, keepdim=True)


def _check_alphabet(alphabet: str) -> str:
    if not isinstance(alphabet, str) or sorted(alphabet.upper()) != sorted(ALPHABET):
        raise ValueError(f"alphabet must name the model's input channels as a permutation of {ALPHABET!r} "
                         f"(e.g. 'ACTG'); got {alphabet!r}")
    return alphabet.upper()


def _check_reduction(reduction):
    if reduction is None or reduction in REDUCTIONS:
        return reduction
    if (isinstance(reduction, tuple) and len(reduction) == 3 and reduction[0] == "window"
            and all(isinstance(v, int) and not isinstance(v, bool) for v in reduction[1:])
            and 0 <= reduction[1] < reduction[2]):
        return reduction
    raise ValueError(f"reduction must be None, 'sum', 'mean' or ('window', start, end) with 0 <= start < end; "
                     f"got {reduction!r}")


def _is_head_key(value) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class AdaptedModel(nn.Module):
    """A model wrapped by :func:`adapt`: maps one-hot ACGT ``(N, 4, L)`` to ``(N, T)``.

    Attributes
    ----------
    model : torch.nn.Module
        The wrapped model (unchanged; its parameters are this module's parameters).
    alphabet, channels_last, input_length, length_policy, output, reduction, profile
        The options of :func:`adapt`.
    output_names : tuple of str or None
        Names of the ``T`` outputs; see :func:`adapt` for the defaults. None until known.
    card : dict
        Metadata: the card set on the adapter (the zoo sets one), else the wrapped model's card,
        else ``{}``. Output names are read from ``output_names`` first
        (:func:`xai_widgets.contract.output_names`).
    """

    def __init__(self, model: nn.Module, *, alphabet: str, channels_last: bool, input_length: int | None,
                 length_policy: str, output, reduction, profile: str | None, output_names):
        super().__init__()
        self.model = model
        self.alphabet = alphabet
        self.channels_last = channels_last
        self.input_length = input_length
        self.length_policy = length_policy
        self.output = output
        self.reduction = reduction
        self.profile = profile
        self._names = tuple(output_names) if output_names is not None else None
        if self._names is None and profile is not None:
            self._names = ("counts", "profile") if profile == "both" else (profile,)
        self._explicit_names = output_names is not None
        self.profile_scaling = ProfileScaling() if profile is not None else None
        self._card = None
        # channel i of the wrapped model's input reads base alphabet[i]
        self._order = None if alphabet == ALPHABET else [ALPHABET.index(base) for base in alphabet]

    # -- input -----------------------------------------------------------------------------------
    def adapt_input(self, x: torch.Tensor) -> torch.Tensor:
        """The wrapped model's input for one-hot ACGT ``x (N, 4, L)``."""
        if x.ndim != 3 or x.shape[1] != 4:
            raise ValueError(f"an adapted model expects one-hot ACGT input of shape (N, 4, L); got {tuple(x.shape)}")
        if self.input_length is not None and x.shape[2] != self.input_length:
            if self.length_policy == "error":
                raise ValueError(f"the model needs sequences of length {self.input_length}; got {x.shape[2]}. "
                                 "Use length_policy='centre' to pad or crop around the centre.")
            x = self._fit_length(x, self.input_length)
        if self._order is not None:
            x = x[:, self._order]
        if self.channels_last:
            x = x.transpose(1, 2)
        return x

    @staticmethod
    def _fit_length(x: torch.Tensor, length: int) -> torch.Tensor:
        excess = x.shape[2] - length
        if excess > 0:  # crop: keep the centre (one more base on the right when odd)
            start = excess // 2
            return x[:, :, start : start + length]
        missing = -excess
        return F.pad(x, (missing // 2, missing - missing // 2))  # all-zero (N) columns

    # -- output ----------------------------------------------------------------------------------
    def _pick(self, out, key, what: str = "output"):
        if isinstance(out, dict):
            keys = list(out)
            if isinstance(key, str):
                if key not in out:
                    raise KeyError(f"the model's output has no key {key!r}; keys: {keys}")
                return out[key], key
            if not -len(keys) <= key < len(keys):
                raise IndexError(f"{what}={key} is out of range: the model returns a dict of {len(keys)} outputs "
                                 f"({keys})")
            return out[keys[key]], str(keys[key])
        if isinstance(out, (tuple, list)):
            if isinstance(key, str):
                fields = getattr(out, "_fields", None)
                if fields is None or key not in fields:
                    raise KeyError(f"the model returns a {type(out).__name__} without named fields; choose "
                                   f"{what} by index 0..{len(out) - 1}, not {key!r}")
                return getattr(out, key), key
            if not -len(out) <= key < len(out):
                raise IndexError(f"{what}={key} is out of range: the model returns {len(out)} outputs")
            fields = getattr(out, "_fields", None)
            return out[key], (fields[key] if fields else None)
        raise TypeError(f"{what}={key!r} chooses a head, but the model returned a single "
                        f"{type(out).__name__}: leave {what}=None")

    def _finish(self, out) -> torch.Tensor:
        """``(N, T)`` from the wrapped model's raw output."""
        if self.profile is not None:
            if not isinstance(out, (tuple, list, dict)):
                raise TypeError(f"profile={self.profile!r} needs a model returning (profile logits, log counts) "
                                f"as a tuple or dict; it returned {type(out).__name__}")
            profile_key, counts_key = (0, 1) if self.output is None else self.output
            logits, _ = self._pick(out, profile_key, "output[0] (profile head)")
            counts, _ = self._pick(out, counts_key, "output[1] (counts head)")
            n = logits.shape[0]
            counts = counts.reshape(n, -1)
            if counts.shape[1] != 1:
                raise ValueError(f"the counts head must give one value per sequence; it has shape "
                                 f"{tuple(counts.shape)}: choose the right head with output=(profile, counts)")
            parts = {"counts": [counts], "profile": [_profile_contribution(logits, self.profile_scaling)]}
            parts["both"] = parts["counts"] + parts["profile"]
            result = torch.cat(parts[self.profile], dim=1)
            self._set_names(result.shape[1], None)
            return result
        head_name = None
        if self.output is not None or isinstance(out, (tuple, list, dict)):
            if self.output is None:
                raise ValueError(f"the model returns a {type(out).__name__} of {len(out)} outputs"
                                 + (f" ({list(out)})" if isinstance(out, dict) else "")
                                 + ": pass output=<index or name> to choose one (or profile=... for a "
                                 "(profile logits, counts) model)")
            out, head_name = self._pick(out, self.output)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the chosen output is a {type(out).__name__}, not a tensor")
        if out.ndim == 1:
            out = out[:, None]
        if out.ndim == 3:
            out = self._reduce(out)
        elif self.reduction is not None:
            raise ValueError(f"reduction={self.reduction!r} applies to (N, T, L') outputs; the model returns "
                             f"{tuple(out.shape)}: leave reduction=None")
        if out.ndim != 2:
            raise ValueError(f"the model's output has shape {tuple(out.shape)}; an adapter handles (N,), (N, T) "
                             "and (N, T, L') outputs")
        self._set_names(out.shape[1], head_name)
        return out

    def _reduce(self, out: torch.Tensor) -> torch.Tensor:
        if self.reduction is None:
            raise ValueError(f"the model returns tracks of shape {tuple(out.shape)} (N, T, L'): pass "
                             "reduction='sum', 'mean' or ('window', start, end) to make one value per track")
        if self.reduction == "sum":
            return out.sum(dim=2)
        if self.reduction == "mean":
            return out.mean(dim=2)
        _, start, end = self.reduction
        if end > out.shape[2]:
            raise ValueError(f"reduction window [{start}, {end}) exceeds the output length {out.shape[2]}")
        return out[:, :, start:end].sum(dim=2)

    def _set_names(self, n_outputs: int, head_name) -> None:
        if self._explicit_names:
            if len(self._names) != n_outputs:
                raise ValueError(f"output_names has {len(self._names)} names but the adapted model gives "
                                 f"{n_outputs} outputs")
            return
        if self._names is not None and len(self._names) == n_outputs:
            return
        if self.profile is not None:
            names = ("counts", "profile") if self.profile == "both" else (self.profile,)
        elif head_name is not None:
            names = (head_name,) if n_outputs == 1 else tuple(f"{head_name}[{t}]" for t in range(n_outputs))
        else:
            inherited = declared_names(self.model)
            names = inherited if inherited is not None and len(inherited) == n_outputs else None
        self._names = names

    @property
    def output_names(self) -> tuple | None:
        """Names of the outputs (given, or inferred at the first forward pass; None if unnamed)."""
        return self._names

    @property
    def card(self) -> dict:
        """The model card (metadata): the one set on the adapter, else the wrapped model's, else ``{}``."""
        return self._card if self._card is not None else model_card(self.model)

    @card.setter
    def card(self, value: dict) -> None:
        self._card = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._finish(self.model(self.adapt_input(x)))

    # -- what methods look for -------------------------------------------------------------------
    @property
    def first_conv(self) -> nn.Conv1d:
        """The wrapped model's first convolution when it reads ACGT channels first.

        Raises
        ------
        ValueError
            When the model reads another channel order or layout: its filters' rows are not in
            ACGT order, so filter motifs would be silently wrong.
        """
        if self._order is not None or self.channels_last:
            raise ValueError(f"the wrapped model reads {self.alphabet} channels"
                             + (" last" if self.channels_last else "")
                             + ": its first-layer filters are not in ACGT order. Reorder its first "
                             "convolution's weights (e.g. xai_widgets.adapt.acgt_weight) and adapt "
                             "it with alphabet='ACGT' to read filters as motifs")
        return first_conv(self.model)

    def local_plan(self) -> LocalPlan:
        """The wrapped model's fast-ISM plan on ACGT input, with this adapter's output step.

        Empty (no fast ISM: plain forward passes) when the wrapped model has none, when the
        input length is changed, or when an alphabet permutation cannot be folded into a
        first ``Conv1d`` (4 input channels, groups 1).
        """
        none = LocalPlan([], False, self._finish)
        plan = local_plan(self.model) if self.input_length is None else None
        if plan is None:
            return none
        layers = list(plan.layers)
        if self._order is not None:
            first = layers[0]
            if not isinstance(first, nn.Conv1d) or first.in_channels != 4 or first.groups != 1:
                return none
            folded = copy.deepcopy(first)
            with torch.no_grad():
                folded.weight.copy_(acgt_weight(first.weight, self.alphabet))
            layers[0] = folded
        head = plan.head
        return LocalPlan(layers, plan.global_max, lambda h: self._finish(head(h)))

    def extra_repr(self) -> str:
        options = {"alphabet": self.alphabet, "channels_last": self.channels_last, "input_length": self.input_length,
                   "output": self.output, "reduction": self.reduction, "profile": self.profile,
                   "output_names": self._names}
        return ", ".join(f"{k}={v!r}" for k, v in options.items())


def adapt(model: nn.Module, *, alphabet: str = ALPHABET, channels_last: bool = False, input_length: int | None = None,
          length_policy: str = "centre", output=None, reduction=None, profile: str | None = None,
          output_names=None) -> AdaptedModel:
    """Wrap ``model`` so that it maps one-hot ACGT ``(N, 4, L)`` to ``(N, T)``.

    Parameters
    ----------
    model : torch.nn.Module
        Any model of one-hot DNA. It is not copied or modified.
    alphabet : str
        The order of the model's input channels, a permutation of ``"ACGT"`` (DeepSTARR's Keras
        model reads ``"ACTG"``). Default ``"ACGT"``.
    channels_last : bool
        The model reads ``(N, L, 4)``. Default False.
    input_length : int or None
        The length the model needs. Inputs of another length are padded with all-zero (``N``)
        columns or cropped, keeping the centre (``length_policy="centre"``, the default), or
        rejected (``"error"``). Default None: passed through.
    length_policy : {"centre", "error"}, optional
        Default ``"centre"``: what ``input_length`` does with another length (see there).
    output : int, str, tuple or None, optional
        Default None: the model's only output. For models returning a tuple, named tuple or dict: the head, by index or
        name (dict keys; a dict's index follows its key order). With ``profile``: the pair
        ``(profile head, counts head)``, default ``(0, 1)`` as in bpnet-lite.
    reduction : {"sum", "mean"}, ("window", start, end) or None, optional
        Default None (no reduction). For ``(N, T, L')`` outputs: sum or mean over positions, or the sum over positions
        ``start <= j < end``. Required for such outputs, refused for others.
    profile : {"counts", "profile", "both"} or None, optional
        Default None (not a profile model). For profile models returning
        ``(profile logits (N, S, L'), log counts (N, 1))``: the counts head, the profile contribution
        (:func:`profile_contribution`), or both as ``(N, 2)`` in that order.
    output_names : sequence of str or None
        Names of the ``T`` outputs. Default: ``("counts", "profile")`` (or one of them) for
        profile models, the head's name for a named head (``name[t]`` for several columns),
        else the wrapped model's names (:func:`xai_widgets.contract.output_names`: its
        ``output_names``, else its card's ``task.target_names``) when their number matches.

    Returns
    -------
    AdaptedModel
        An ``nn.Module``; ``.model`` is the wrapped model and ``.output_names`` the names.

    Raises
    ------
    ValueError
        For an alphabet that is not a permutation of ACGT, an unknown length policy, reduction
        or profile mode, a non-positive ``input_length``, or ``reduction`` with ``profile``;
        at forward time, for outputs the options do not cover (each message says which option
        to set).
    TypeError
        If ``model`` is not an ``nn.Module``.

    Examples
    --------
    >>> adapted = adapt(keras_port, alphabet="ACTG", output_names=["dev", "hk"])   # doctest: +SKIP
    >>> adapted = adapt(enformer_like, output="human", reduction=("window", 440, 456))  # doctest: +SKIP
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    alphabet = _check_alphabet(alphabet)
    if length_policy not in LENGTH_POLICIES:
        raise ValueError(f"length_policy must be one of {LENGTH_POLICIES}; got {length_policy!r}")
    if input_length is not None and (isinstance(input_length, bool) or not isinstance(input_length, int)
                                     or input_length < 1):
        raise ValueError(f"input_length must be a positive int or None; got {input_length!r}")
    reduction = _check_reduction(reduction)
    if profile is not None:
        if profile not in PROFILE_MODES:
            raise ValueError(f"profile must be one of {PROFILE_MODES} or None; got {profile!r}")
        if reduction is not None:
            raise ValueError("reduction does not apply with profile: the profile head is summarised by its "
                             "contribution (profile='profile') and the counts head is one value")
        if output is not None and not (isinstance(output, (tuple, list)) and len(output) == 2
                                       and all(_is_head_key(k) for k in output)):
            raise ValueError(f"with profile, output is the pair (profile head, counts head); got {output!r}")
        output = tuple(output) if output is not None else None
    elif output is not None and not _is_head_key(output):
        raise ValueError(f"output must be an index or a name; got {output!r}")
    if output_names is not None:
        if isinstance(output_names, str) or not all(isinstance(n, str) for n in output_names):
            raise ValueError(f"output_names must be a sequence of str; got {output_names!r}")
        output_names = list(output_names)
    return AdaptedModel(model, alphabet=alphabet, channels_last=bool(channels_last), input_length=input_length,
                        length_policy=length_policy, output=output, reduction=reduction, profile=profile,
                        output_names=output_names)
