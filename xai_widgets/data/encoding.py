"""One-hot encoding of DNA in A, C, G, T order, and its inverse.

Every method in xai-widgets works on ``X``: a float tensor of shape ``(N, 4, L)`` whose
column ``X[n, :, i]`` is the one-hot vector of base ``i`` of sequence ``n`` (rows A, C, G, T).
Strings are accepted only at the edges, through :func:`one_hot`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch

ALPHABET = "ACGT"
COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
UNKNOWN_POLICIES = ("error", "zeros", "uniform")

# byte -> row index (0..3), 4 for N/n, 5 for anything else
_LOOKUP = np.full(256, 5, dtype=np.int8)
for _i, _b in enumerate(ALPHABET):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i
_LOOKUP[ord("N")] = _LOOKUP[ord("n")] = 4


def _as_list(sequences: str | Iterable[str]) -> list[str]:
    if isinstance(sequences, str):
        return [sequences]
    seqs = list(sequences)
    if not all(isinstance(s, str) for s in seqs):
        raise TypeError("one_hot expects a string or an iterable of strings")
    return seqs


def encode_indices(sequences: str | Iterable[str], unknown: str = "error") -> np.ndarray:
    """Encode strings as base indices.

    Parameters
    ----------
    sequences : str or iterable of str
        One sequence or several of equal length; upper or lower case.
    unknown : {"error", "zeros", "uniform"}
        What to do with ``N`` (and only ``N``): raise, or mark it with index 4 so that
        :func:`one_hot` encodes it as an all-zero or all-0.25 column.

    Returns
    -------
    numpy.ndarray of int8, shape (N, L)
        0..3 for A, C, G, T and 4 for an allowed ``N``.
    """
    if unknown not in UNKNOWN_POLICIES:
        raise ValueError(f"unknown={unknown!r}; choose one of {UNKNOWN_POLICIES}")
    seqs = _as_list(sequences)
    if not seqs:
        raise ValueError("no sequences given: pass a string or a non-empty list of strings")
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise ValueError(
            f"sequences have different lengths {sorted(lengths)[:5]}: pad or trim them to one "
            "length before encoding"
        )
    if 0 in lengths:
        raise ValueError("empty sequence: every sequence needs at least one base")
    raw = np.frombuffer("".join(seqs).encode("latin-1", errors="replace"), dtype=np.uint8)
    idx = _LOOKUP[raw].reshape(len(seqs), -1)
    bad = idx == 5
    if unknown == "error":
        bad |= idx == 4
    if bad.any():
        n, i = map(int, np.argwhere(bad)[0])
        letter = seqs[n][i]
        hint = (
            " Pass unknown='zeros' or unknown='uniform' to encode N explicitly."
            if letter in "Nn"
            else " Only A, C, G, T (any case) and N are accepted."
        )
        raise ValueError(f"sequence {n} has {letter!r} at position {i}.{hint}")
    return idx


def one_hot(
    sequences: str | Iterable[str],
    unknown: str = "error",
    *,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """One-hot encode DNA strings.

    Parameters
    ----------
    sequences : str or iterable of str
        One sequence or several of equal length; case is ignored.
    unknown : {"error", "zeros", "uniform"}
        ``N`` raises by default; ``"zeros"`` encodes it as an all-zero column and
        ``"uniform"`` as 0.25 in each row. Other letters always raise.
    dtype : torch.dtype, optional
        Default torch.float32. Floating dtype of the result.

    Returns
    -------
    torch.Tensor, shape (N, 4, L)
        Always batched, also for a single string, so ``model(one_hot(s))`` works.

    Examples
    --------
    >>> one_hot("ACGT")[0]
    tensor([[1., 0., 0., 0.],
            [0., 1., 0., 0.],
            [0., 0., 1., 0.],
            [0., 0., 0., 1.]])
    """
    idx = torch.from_numpy(encode_indices(sequences, unknown).astype(np.int64))
    return indices_to_one_hot(idx, unknown_value=0.25 if unknown == "uniform" else 0.0, dtype=dtype)


def indices_to_one_hot(
    idx: torch.Tensor, unknown_value: float = 0.0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Turn base indices ``(N, L)`` (0..3, 4 for N) into one-hot ``(N, 4, L)``."""
    eye = torch.cat([torch.eye(4, dtype=dtype), torch.full((1, 4), unknown_value, dtype=dtype)])
    return eye[idx.long()].permute(0, 2, 1).contiguous()


def check_one_hot(X: torch.Tensor, allow_unknown: bool = False, *, name: str = "X") -> torch.Tensor:
    """Validate a batch of one-hot sequences and return it unchanged.

    Parameters
    ----------
    X : torch.Tensor, shape (N, 4, L)
        Floating tensor; every column must be one-hot (or, with ``allow_unknown``,
        all-zero or all-0.25).
    allow_unknown : bool, optional
        Default False. Accept the ``N`` columns that :func:`one_hot` writes for
        ``unknown="zeros"``/``"uniform"``.
    name : str, optional
        Default ``"X"``. Name used in error messages.

    Raises
    ------
    TypeError, ValueError
        With a message that says what is wrong and how to fix it.
    """
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, 4, L); got {type(X).__name__}. "
                        "Use xai_widgets.data.one_hot() to encode strings.")
    if X.ndim != 3 or X.shape[1] != 4:
        hint = " Add a batch axis with X[None]." if X.ndim == 2 and X.shape[0] == 4 else ""
        raise ValueError(f"{name} must have shape (N, 4, L); got {tuple(X.shape)}.{hint}")
    if X.shape[0] == 0 or X.shape[2] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(X.shape)})")
    if not X.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor; got {X.dtype}. Use X.float().")
    col_sum = X.sum(dim=1)
    is_hot = ((X == 0) | (X == 1)).all(dim=1) & (col_sum == 1)
    if allow_unknown:
        is_hot |= (X == 0).all(dim=1) | (X == 0.25).all(dim=1)
    if not bool(is_hot.all()):
        n, i = map(int, torch.nonzero(~is_hot)[0])
        raise ValueError(
            f"{name}[{n}, :, {i}] = {X[n, :, i].tolist()} is not one-hot: each column must hold a "
            "single 1 (rows A, C, G, T)"
        )
    return X


def decode(X: torch.Tensor) -> list[str]:
    """Turn one-hot ``(N, 4, L)`` back into strings.

    All-zero and all-0.25 columns become ``N``; any other non-one-hot column raises.

    Returns
    -------
    list of str, length N
    """
    check_one_hot(X, allow_unknown=True)
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    idx = X.argmax(dim=1).cpu().numpy()
    idx[(X.max(dim=1).values < 1).cpu().numpy()] = 4
    return [letters[row].tobytes().decode() for row in idx]


def reverse_complement(X: torch.Tensor | str | Sequence[str]):
    """Reverse complement one-hot sequences ``(N, 4, L)`` or strings.

    With A, C, G, T row order the complement is a flip of the base axis, so for tensors
    this is ``X.flip(1, 2)``.
    """
    if isinstance(X, torch.Tensor):
        if X.ndim < 2 or X.shape[-2] != 4:
            raise ValueError(f"expected shape (..., 4, L); got {tuple(X.shape)}")
        return X.flip(-2, -1)
    if isinstance(X, str):
        return X.translate(COMPLEMENT)[::-1]
    return [reverse_complement(s) for s in X]


def one_hot_batches(
    sequences: Sequence[str], batch_size: int = 256, *, unknown: str = "error"
) -> Iterator[torch.Tensor]:
    """Yield one-hot batches ``(B, 4, L)`` of at most ``batch_size`` strings, in order.

    Parameters
    ----------
    sequences : sequence of str
        Strings of equal length.
    batch_size : int, optional
        Default 256. Strings per yielded batch (encoding only; no model runs here).
    unknown : {"error", "zeros", "uniform"}, optional
        Default ``"error"``; as in :func:`one_hot`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    for start in range(0, len(sequences), batch_size):
        yield one_hot(sequences[start : start + batch_size], unknown=unknown)
