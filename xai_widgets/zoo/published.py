"""Published architectures, reimplemented so that their authors' weights load as ``state_dict``\\ s.

=============  ==============================================================================
name           architecture
=============  ==============================================================================
deepstarr      DeepSTARR (de Almeida et al., Nat Genet 2022): 4 conv blocks (conv, batch norm,
               ReLU, max pool 2), Keras-order flatten, 2 dense blocks, heads ``dev`` and
               ``hk``; input 249 bp, ACGT (the authors' ACTG order is folded into ``conv1``
               when the weights are converted, see ``scripts/convert_published.py``)
bpnet          BPNet as in bpnet-lite (Avsec et al., Nat Genet 2021; Schreiber): a wide conv,
               residual dilated convs, a profile conv cropped to the output window and a
               counts head on the mean of the cropped features; returns a tuple
               ``(profile logits (N, S, L_out), log counts (N, 1))``
=============  ==============================================================================

:class:`BPNet` does not fit the package's ``(N, 4, L) -> (N, T)`` contract by itself; wrap it
with :func:`xai_widgets.adapt.adapt` (``profile="counts"``, ``"profile"`` or ``"both"``), as
``zoo.load("bpnet_ctcf")`` does. The weights and model cards are written by
``scripts/convert_published.py``; sources, licences and citations are in ``zoo/ATTRIBUTION.md``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..contract import LocalPlan, Residual
from .architectures import _LocalStackModel, _ZooModel

DEEPSTARR_SOURCE_ALPHABET = "ACTG"
"""Channel order of the authors' (and the Keras port's) DeepSTARR input."""


class DeepSTARR(_LocalStackModel):
    """DeepSTARR: enhancer activity (developmental, housekeeping) from 249-bp fly sequences.

    Four blocks of Conv1d ("same" padding) -> BatchNorm -> ReLU -> MaxPool(2), then the
    ``(N, C, 15)`` map is flattened in **Keras order** (position-major,
    ``h.transpose(1, 2).flatten(1)``), two blocks of Linear -> BatchNorm -> ReLU -> Dropout,
    and two linear heads concatenated as ``(N, 2)``: ``[dev, hk]`` log2 enrichment.
    Batch norms run in eval mode with the Keras default ``eps = 1e-3``.

    Parameters
    ----------
    input_length : int, optional
        Default 249, the published model's (the dense layer spans the pooled positions).
    filters : tuple of 4 int, optional
        Channels of the conv blocks; default (256, 60, 60, 120).
    widths : tuple of 4 int, optional
        Kernel widths of the conv blocks (odd: "same" padding is symmetric); default (7, 3, 5, 3).
    hidden : int, optional
        Width of the two dense layers; default 256.
    dropout : float, optional
        Dropout after each dense block (training only); default 0.4.
    bn_eps : float, optional
        Batch-norm epsilon; default 0.001 (Keras's).

    Raises
    ------
    ValueError
        If a width is even or ``input_length`` pools to less than one position; in forward, if
        the input is not ``(N, 4, input_length)``.
    """

    def __init__(self, input_length: int = 249, filters=(256, 60, 60, 120), *, widths=(7, 3, 5, 3),
                 hidden: int = 256, dropout: float = 0.4, bn_eps: float = 1e-3):
        super().__init__(input_length=input_length, filters=list(filters), widths=list(widths), hidden=hidden,
                         dropout=dropout, bn_eps=bn_eps)
        if any(w % 2 == 0 for w in widths):
            raise ValueError(f"widths must be odd (Keras 'same' padding is then symmetric); got {list(widths)}")
        self.pooled_length = input_length // 2 // 2 // 2 // 2
        if self.pooled_length < 1:
            raise ValueError(f"input_length {input_length} is too short for four max pools of 2")
        channels = [4, *filters]
        for i, width in enumerate(widths, start=1):
            setattr(self, f"conv{i}", nn.Conv1d(channels[i - 1], channels[i], width, padding=width // 2))
            setattr(self, f"bn{i}", nn.BatchNorm1d(channels[i], eps=bn_eps))
            setattr(self, f"act{i}", nn.ReLU())
            setattr(self, f"pool{i}", nn.MaxPool1d(2))
        self.fc1 = nn.Linear(channels[-1] * self.pooled_length, hidden)
        self.bn_fc1 = nn.BatchNorm1d(hidden, eps=bn_eps)
        self.fc2 = nn.Linear(hidden, hidden)
        self.bn_fc2 = nn.BatchNorm1d(hidden, eps=bn_eps)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.fc_dev = nn.Linear(hidden, 1)
        self.fc_hk = nn.Linear(hidden, 1)

    @property
    def n_targets(self) -> int:
        return 2

    def _check_input(self, x: torch.Tensor) -> None:
        super()._check_input(x)
        if x.shape[-1] != self.config["input_length"]:
            raise ValueError(f"DeepSTARR was built for sequences of length {self.config['input_length']}; got "
                             f"length {x.shape[-1]}. Crop or pad the input (xai_widgets.adapt.adapt(model, "
                             f"input_length={self.config['input_length']}) does it around the centre).")

    def dense_head(self, features: torch.Tensor) -> torch.Tensor:
        """The dense part on flattened features ``(N, C * L')`` (already in Keras order): ``(N, 2)``."""
        h = self.dropout(self.relu(self.bn_fc1(self.fc1(features))))
        h = self.dropout(self.relu(self.bn_fc2(self.fc2(h))))
        return torch.cat([self.fc_dev(h), self.fc_hk(h)], dim=1)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        return self.dense_head(h.transpose(1, 2).flatten(1))  # Keras (position-major) flatten

    def local_plan(self) -> LocalPlan:
        layers = []
        for i in range(1, 5):
            layers += [getattr(self, f"conv{i}"), getattr(self, f"bn{i}"), getattr(self, f"act{i}"),
                       getattr(self, f"pool{i}")]
        return LocalPlan(layers, False, self._head)


class BPNet(_ZooModel):
    """BPNet as implemented by bpnet-lite (without control tracks).

    ``h = relu(iconv(x))``; for each of ``n_layers`` residual layers ``h = h + relu(rconv_i(h))``
    with kernel 3 and dilation ``2^(i+1)``; profile logits ``fconv(h)`` cropped by ``trimming``
    on each side; log counts ``linear(mean(h[..., trimming - 37 : L - trimming + 37]))``.

    Parameters
    ----------
    n_filters : int, optional
        Channels of every convolution; default 64.
    n_layers : int, optional
        Dilated residual layers; default 8.
    n_outputs : int, optional
        Profile tracks; default 2 (the two strands).
    iconv_width : int, optional
        Width of the first convolution; default 21 (bpnet-lite's).
    fconv_width : int, optional
        Width of the profile convolution; default 75 (bpnet-lite's).
    trimming : int or None, optional
        Positions cropped from each side for the profile output; default None: bpnet-lite's
        ``47 + sum(2^i, i = 1..n_layers)`` (557 for 8 layers: 2,114 bp in, 1,000 out).
    input_length : int, optional
        Default 2114, the published length; the model accepts any length above ``2 * trimming``.

    Returns (forward)
    -----------------
    (torch.Tensor, torch.Tensor)
        Profile logits ``(N, n_outputs, L - 2 * trimming)`` and log counts ``(N, 1)``.
    """

    def __init__(self, n_filters: int = 64, n_layers: int = 8, *, n_outputs: int = 2, iconv_width: int = 21,
                 fconv_width: int = 75, trimming: int | None = None, input_length: int = 2114):
        if trimming is None:
            trimming = 47 + sum(2**i for i in range(1, n_layers + 1))
        super().__init__(n_filters=n_filters, n_layers=n_layers, n_outputs=n_outputs, iconv_width=iconv_width,
                         fconv_width=fconv_width, trimming=trimming, input_length=input_length)
        self.iconv = nn.Conv1d(4, n_filters, iconv_width, padding=iconv_width // 2)
        self.irelu = nn.ReLU()
        self.rconvs = nn.ModuleList(nn.Conv1d(n_filters, n_filters, 3, padding=2**i, dilation=2**i)
                                    for i in range(1, n_layers + 1))
        self.rrelus = nn.ModuleList(nn.ReLU() for _ in range(n_layers))
        self.fconv = nn.Conv1d(n_filters, n_outputs, fconv_width, padding=fconv_width // 2)
        self.linear = nn.Linear(n_filters, 1)

    @property
    def n_targets(self) -> int:
        raise AttributeError("BPNet returns a (profile, counts) tuple, not (N, T): wrap it with "
                             "xai_widgets.adapt.adapt(model, profile='counts' | 'profile' | 'both')")

    @property
    def first_conv(self) -> nn.Conv1d:
        return self.iconv

    def forward(self, x: torch.Tensor):
        self._check_input(x)
        trim = self.config["trimming"]
        if x.shape[-1] <= 2 * trim:
            raise ValueError(f"BPNet crops {trim} positions on each side: input length must exceed {2 * trim} "
                             f"(published: {self.config['input_length']}); got {x.shape[-1]}")
        h = self.irelu(self.iconv(x))
        for conv, relu in zip(self.rconvs, self.rrelus):
            h = h + relu(conv(h))
        return self.heads(h)

    def heads(self, h: torch.Tensor):
        """Profile logits and log counts from the last residual features ``h (N, n_filters, L)``."""
        trim = self.config["trimming"]
        start, end = trim, h.shape[-1] - trim
        profile = self.fconv(h)[:, :, start:end]
        counts = self.linear(h[:, :, max(start - 37, 0) : end + 37].mean(dim=2))
        return profile, counts

    def local_plan(self) -> LocalPlan:
        """Fast-ISM plan: ``iconv``, ReLU, one :class:`Residual` block per dilated conv and a last
        convolution are local; the head crops.

        The last convolution joins the profile conv ``fconv`` (channels ``0 .. S-1``) and the
        counts layer ``linear`` as a centre tap (channel ``S``: ``linear`` at every position), so
        that an edit changes a window of an ``(N, S + 1, L)`` map; the head crops the profile and
        averages channel ``S`` over the counts window (the mean of ``linear`` equals ``linear``
        of the mean).
        """
        residuals = [Residual(conv, relu) for conv, relu in zip(self.rconvs, self.rrelus)]
        fconv, width = self.fconv, self.config["fconv_width"]
        joined = nn.Conv1d(fconv.in_channels, fconv.out_channels + 1, width, padding=width // 2)
        with torch.no_grad():
            joined.weight.zero_()
            joined.weight[: fconv.out_channels] = fconv.weight
            joined.weight[fconv.out_channels, :, width // 2] = self.linear.weight[0]
            joined.bias.copy_(torch.cat([fconv.bias, self.linear.bias]))
        joined.to(fconv.weight.device, fconv.weight.dtype).requires_grad_(False)
        return LocalPlan([self.iconv, self.irelu, *residuals, joined], False, self._cropped_heads)

    def _cropped_heads(self, joined: torch.Tensor):
        trim = self.config["trimming"]
        start, end = trim, joined.shape[-1] - trim
        profile = joined[:, :-1, start:end]
        counts = joined[:, -1, max(start - 37, 0) : end + 37].mean(dim=1, keepdim=True)
        return profile, counts


PUBLISHED_ARCHITECTURES: dict[str, type[_ZooModel]] = {"deepstarr": DeepSTARR, "bpnet": BPNet}
