"""Attributions for many sequences, streamed in chunks to a Zarr store, optionally on Dask workers.

:func:`attribute_to_store` runs one attribution method of the registry (DeepSHAP, ISM,
integrated gradients, any of :func:`~.registry.method_names`, one of your own added with
:func:`~.registry.register_method`) over ``N`` sequences in chunks of ``chunk_size`` and writes
every finished chunk to a Zarr group:

============== ========================= ===============================================
array          shape, dtype              content
============== ========================= ===============================================
``X``          (N, 4, L) float32         the one-hot sequences
``values``     (N, 4, L) float32         contributions at the observed bases
``hypothetical`` (N, 4, L) float32       the map of every base (the entry's ``hypothetical``)
``target``     (N,) int64                the model output explained for each sequence
``done``       (n_chunks,) bool          which chunks are written (resume)
``names``      (N,) str                  sequence names (when known)
``chrom``, ``start``, ``end``, ``strand`` genomic coordinates (when known)
============== ========================= ===============================================

and the group's attributes hold the metadata: the model's class and a SHA-256 fingerprint of
its parameters and buffers, the method and its options, the seed, ``N``, ``L`` and the chunk
size. Memory stays bounded by a few chunks: ``X`` may itself be any sliceable array (a Zarr
array, a NumPy memmap) and only one chunk of it is read at a time.

Resume: calling again with the same store continues with the chunks not yet marked ``done``
(a killed run loses at most the chunks in flight). A store written by another model, method,
option set, target or input refuses to resume, with a message saying what differs.

Parallel: with a ``dask.distributed`` client (``client=`` an existing ``Client``, a scheduler
address, or ``"auto"``: the client already running in this process, if any) the chunks run on
the cluster's workers, CPU or GPU (each resolves ``device="auto"`` itself); the calling process
only writes the returned chunks, so workers need no shared file system. Every chunk draws its
random references from its own seed, derived from ``random_state`` and the chunk index, so the
result does not depend on where or in which order the chunks ran.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..contract import card, output_names
from ._common import check_target, model_method
from .registry import DEPRECATED_ALIASES, AttributionMethod, get_method

FORMAT = "xai-widgets attribution store 1"


# --- the methods a store can hold --------------------------------------------------------------

def _run_method(method: AttributionMethod, model: nn.Module, X: torch.Tensor, target: int, options: dict, seed: int,
                device, batch_size):
    """One registry entry on one group of sequences: ``(values, hypothetical)`` as float32 numpy
    arrays. The chunk's seed goes to methods that take ``random_state``."""
    result = method.run(model, X, target=target, options=options, batch_size=batch_size, device=device,
                        random_state=seed)
    values, hypothetical = result.values, method.hypothetical_of(result)
    return values.detach().float().cpu().numpy(), hypothetical.detach().float().cpu().numpy()


def _compute_chunk(model: nn.Module, X: np.ndarray, targets: np.ndarray, method: AttributionMethod, options: dict,
                   seed: int, device, batch_size):
    """Attributions for one chunk; runs in this process or on a Dask worker (``method``, the
    registry entry, travels with the chunk, so a method registered in this process runs there too)."""
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    values = np.zeros(X.shape, dtype=np.float32)
    hypothetical = np.zeros(X.shape, dtype=np.float32)
    for t in np.unique(targets):  # one call per output explained in this chunk
        rows = np.flatnonzero(targets == t)
        v, h = _run_method(method, model, X[rows], int(t), options, seed, device, batch_size)
        values[rows], hypothetical[rows] = v, h
    return values, hypothetical


_WORKER_MODELS: dict = {}


def _compute_chunk_remote(packed, X, *args):
    """:func:`_compute_chunk` on a worker, with the model sent as ``(fingerprint, pickled bytes)``."""
    key, blob = packed
    if key not in _WORKER_MODELS:
        _WORKER_MODELS.clear()
        _WORKER_MODELS[key] = pickle.loads(blob)
    return _compute_chunk(_WORKER_MODELS[key], X, *args)


# --- metadata ------------------------------------------------------------------------------------

def model_fingerprint(model: nn.Module) -> str:
    """SHA-256 over the model's class and every parameter and buffer (name, dtype, shape, bytes)."""
    digest = hashlib.sha256(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def _resolve_targets(model: nn.Module, target, n: int, n_outputs: int) -> np.ndarray:
    """``target`` (None, an int, an output name, or one per sequence) as an ``(N,)`` array of
    indices, each checked by :func:`._common.check_target`."""
    if target is None or isinstance(target, (str, int, np.integer)):
        try:
            return np.full(n, check_target(target, n_outputs, model=model), dtype=np.int64)
        except ValueError as error:
            if target is None:
                raise ValueError(f"{error}, or one target per sequence") from None
            raise
    targets = list(np.asarray(target).tolist()) if not isinstance(target, (list, tuple)) else list(target)
    if len(targets) != n:
        raise ValueError(f"target holds {len(targets)} entries for {n} sequences: pass one target for all "
                         "sequences or exactly one per sequence")
    return np.array([check_target(t, n_outputs, model=model) for t in targets], dtype=np.int64)


def _jsonable(value):
    if isinstance(value, torch.Tensor):
        raise TypeError("method options must be plain values (numbers, strings); tensors such as custom "
                        "references cannot be recorded in the store's metadata")
    json.dumps(value)
    return value


# --- the store ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttributionStore:
    """A Zarr store written by :func:`attribute_to_store` (open one with :meth:`open`).

    Attributes
    ----------
    path : pathlib.Path
    group : zarr.Group
    metadata : dict
        Model class and fingerprint, method and options, seed, ``n``, ``length``, ``chunk_size``.
    """

    path: Path
    group: object
    metadata: dict

    @classmethod
    def open(cls, path) -> AttributionStore:
        """Open an existing store read-only.

        Raises
        ------
        FileNotFoundError, ValueError
            When ``path`` holds no store, or a Zarr group that is not an attribution store.
        """
        import zarr

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no attribution store at {path}; write one with attribute_to_store")
        group = zarr.open_group(str(path), mode="r")
        meta = dict(group.attrs.asdict())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is a Zarr group but not an attribution store (format {meta.get('format')!r})")
        return cls(path, group, meta)

    @property
    def n(self) -> int:
        return int(self.metadata["n"])

    @property
    def length(self) -> int:
        return int(self.metadata["length"])

    @property
    def method(self) -> str:
        """The attribution method's registry name (a store written as ``"saturation_mutagenesis"`` says ``"ism"``)."""
        return DEPRECATED_ALIASES.get(self.metadata["method"], self.metadata["method"])

    @property
    def n_done(self) -> int:
        """Sequences written so far."""
        done = np.asarray(self.group["done"][:])
        size = int(self.metadata["chunk_size"])
        return int(sum(min(size, self.n - i * size) for i in np.flatnonzero(done)))

    @property
    def complete(self) -> bool:
        return bool(np.asarray(self.group["done"][:]).all())

    def _rows(self, rows):
        return slice(None) if rows is None else rows

    def _check_complete(self, rows):
        if rows is None and not self.complete:
            raise ValueError(f"the store at {self.path} is incomplete ({self.n_done} of {self.n} sequences): "
                             "call attribute_to_store again with the same arguments to finish it, or pass rows=")

    def X(self, rows=None) -> np.ndarray:
        """One-hot sequences ``(N, 4, L)`` (or the rows asked for)."""
        return np.asarray(self.group["X"][self._rows(rows)])

    def values(self, rows=None) -> np.ndarray:
        """Contributions at the observed bases ``(N, 4, L)``; raises if the store is incomplete."""
        self._check_complete(rows)
        return np.asarray(self.group["values"][self._rows(rows)])

    def hypothetical(self, rows=None) -> np.ndarray:
        """Hypothetical contributions ``(N, 4, L)``; raises if the store is incomplete."""
        self._check_complete(rows)
        return np.asarray(self.group["hypothetical"][self._rows(rows)])

    def target(self) -> np.ndarray:
        """The model output explained for each sequence, ``(N,)``."""
        return np.asarray(self.group["target"][:])

    @property
    def names(self) -> tuple | None:
        return tuple(str(v) for v in self.group["names"][:]) if "names" in self.group else None

    @property
    def coordinates(self) -> tuple | None:
        """``(chrom, start, end, strand)`` per sequence, or None."""
        if "chrom" not in self.group:
            return None
        g = self.group
        return tuple((str(c), int(s), int(e), str(t)) for c, s, e, t in
                     zip(g["chrom"][:], g["start"][:], g["end"][:], g["strand"][:]))

    def __repr__(self) -> str:
        return (f"AttributionStore({str(self.path)!r}, method={self.method!r}, N={self.n}, L={self.length}, "
                f"done={self.n_done}/{self.n})")


def _as_inputs(X, names, coordinates):
    """Sequences (anything sliceable to (n, 4, L)), names and coordinates from X or a Dataset."""
    from ..data.dataset import Dataset

    if isinstance(X, Dataset):
        names = X.names if names is None else names
        coordinates = X.coordinates if coordinates is None else coordinates
        X = X.X
    if isinstance(X, (str, Path)):
        raise TypeError("X must be sequences, not a path: read FASTA with xai_widgets.data.read_fasta(path, "
                        "length=L) or regions with data.read_bed(genome, bed, length=L) and pass the Dataset")
    shape = tuple(getattr(X, "shape", ()))
    if len(shape) != 3 or shape[1] != 4:
        raise ValueError(f"X must be one-hot sequences of shape (N, 4, L) (a tensor, a NumPy or Zarr array, "
                         f"or a Dataset); got shape {shape}")
    n = shape[0]
    for label, value in (("names", names), ("coordinates", coordinates)):
        if value is not None and len(value) != n:
            raise ValueError(f"{label} holds {len(value)} entries for {n} sequences")
    return X, n, shape[2], names, coordinates


def _chunk(X, start: int, stop: int) -> np.ndarray:
    chunk = X[start:stop]
    if isinstance(chunk, torch.Tensor):
        return chunk.detach().float().cpu().numpy()
    return np.asarray(chunk, dtype=np.float32)


def _resolve_client(client):
    if client is None:
        return None
    from distributed import Client, get_client

    if isinstance(client, Client):
        return client
    if client == "auto":
        try:
            return get_client()
        except ValueError:
            return None
    if isinstance(client, str):
        return Client(client)
    raise TypeError(f"client must be None, 'auto', a scheduler address or a dask.distributed.Client; got {client!r}")


@model_method
def attribute_to_store(model: nn.Module, X, *, store, method: str = "deep_lift_shap", target=None,
                       names=None, coordinates=None, chunk_size: int = 256, options: dict | None = None,
                       client="auto", resume: bool = True, batch_size: int | None = None, device="auto",
                       random_state=None, progress: bool = False) -> AttributionStore:
    """Attributions of ``model`` for many sequences, in chunks, streamed to a Zarr store.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, 4, L)`` to ``(N, T)``.
    X : torch.Tensor, numpy.ndarray, zarr.Array or Dataset, shape (N, 4, L)
        One-hot sequences; read one chunk at a time (so a Zarr array or memmap keeps memory
        bounded). A :class:`~xai_widgets.data.Dataset` (e.g. from ``data.read_fasta`` or
        ``data.read_bed``) also gives the names and coordinates.
    store : str or pathlib.Path
        Directory of the Zarr store (created if missing).
    method : str, optional
        Default ``"deep_lift_shap"``. Any registered attribution method (:func:`~.registry.method_names`: ``"ism"``,
        ``"occlusion"``, ``"saliency"``, ``"gradient_x_input"``, ``"integrated_gradients"``, ``"deep_lift_shap"``,
        or one of your own). ``hypothetical`` is the entry's map of every base: DeepSHAP's hypothetical
        contributions, ISM's mean-centred deltas, and for the others ``values`` itself (for integrated gradients
        non-zero only where the input or baseline has a base). The spelling ``"saturation_mutagenesis"`` still
        means ``"ism"`` and warns; a store written with it resumes.
    target : int, str, sequence or None, optional
        Default None: the only output of a single-output model (raises for a multi-output
        model). The output explained: an index or output name for every sequence, or one per
        sequence (length N; each chunk calls the method once per distinct target).
    names : sequence of str, optional
        Default None: the Dataset's names, if any. One name per sequence.
    coordinates : sequence of (chrom, start, end, strand), optional
        Default None: the Dataset's coordinates, if any.
    chunk_size : int, optional
        Sequences per chunk (default 256): the unit of work, of resume and of Zarr chunking.
    options : dict, optional
        Default None: none. Further keyword options of the method (e.g. ``{"n_shuffles": 20}``), recorded in the
        metadata; must be plain values.
    client : None, "auto", str or dask.distributed.Client, optional
        Where chunks run: None in this process; ``"auto"`` (default) on the ``dask.distributed``
        client running in this process if there is one, else here; an address or a Client: on
        that cluster.
    resume : bool, optional
        Default True: continue an existing store written with the same arguments; False
        overwrites it.
    batch_size : int or None, optional
        Passed to the method; default None: from the memory rule.
    device : str or torch.device, optional
        Default ``"auto"``. Where each chunk computes (on workers, resolved on the worker).
    random_state : int or None, optional
        Default None. Seed of the references (DeepSHAP shuffles); None draws one, recorded in the store so a
        resumed run uses the same. Chunk ``i`` passes the seed ``SeedSequence([random_state, i])`` to methods
        that take ``random_state``.
    progress : bool, optional
        Default False. Show a tqdm bar over sequences.

    Returns
    -------
    AttributionStore

    Raises
    ------
    ValueError
        For an unknown method, a bad target or chunk size, shapes that disagree, or an existing
        store written with another model, method, options, target, seed, chunk size or input:
        the message names what differs (pass ``resume=False`` or another path to start anew).
    """
    import zarr
    from tqdm.auto import tqdm

    from ._common import prepare  # noqa: F811 (imported here to keep the module's import light)

    entry = get_method(method)  # ValueError naming the registered methods; warns for an old spelling
    method = entry.name
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    options = {k: _jsonable(v) for k, v in (options or {}).items()}
    for reserved in ("target", "random_state", "device", "batch_size"):
        if reserved in options:
            raise ValueError(f"pass {reserved} as an argument of attribute_to_store, not in options")
    X, n, length, names, coordinates = _as_inputs(X, names, coordinates)
    first = torch.as_tensor(_chunk(X, 0, 1))
    _, n_outputs = prepare(model, first, "cpu" if device == "auto" else device, batch_size)
    targets = _resolve_targets(model, target, n, n_outputs)
    drawn = random_state is None
    if drawn:
        random_state = int(np.random.SeedSequence().generate_state(1)[0])
    n_chunks = -(-n // chunk_size)
    meta = {
        "format": FORMAT,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "model_fingerprint": model_fingerprint(model),
        "model_name": card(model).get("name", ""),
        "method": method, "options": options, "random_state": int(random_state),
        "n": n, "length": length, "chunk_size": chunk_size,
        "target_digest": hashlib.sha256(targets.tobytes()).hexdigest(),
        "output_names": list(output_names(model) or []),
    }
    path = Path(store)
    existing = path.exists() and any(path.iterdir())
    if existing and resume:
        group = zarr.open_group(str(path), mode="r+")
        old = dict(group.attrs.asdict())
        old["method"] = DEPRECATED_ALIASES.get(old.get("method"), old.get("method"))  # stores of the old spelling
        if old.get("format") != FORMAT:
            raise ValueError(f"{path} exists and is not an attribution store: choose another path")
        if drawn and "random_state" in old:  # no seed given: continue with the store's
            meta["random_state"] = old["random_state"]
        differ = [k for k in ("model_class", "model_fingerprint", "method", "options", "random_state", "n",
                              "length", "chunk_size", "target_digest") if old.get(k) != meta[k]]
        if differ:
            details = "; ".join(f"{k}: store has {old.get(k)!r}, this call {meta[k]!r}" for k in differ)
            raise ValueError(f"the store at {path} was written by another run and cannot be resumed ({details}). "
                             "Pass resume=False to overwrite it, or another store path")
    else:
        group = zarr.open_group(str(path), mode="w")
        group.attrs.update(meta)
        shape, chunks = (n, 4, length), (chunk_size, 4, length)
        for key in ("X", "values", "hypothetical"):
            group.create_array(key, shape=shape, chunks=chunks, dtype="float32", fill_value=0.0)
        group.create_array("target", shape=(n,), chunks=(chunk_size,), dtype="int64")
        group["target"][:] = targets
        group.create_array("done", shape=(n_chunks,), chunks=(max(1, n_chunks),), dtype="bool", fill_value=False)
        if names is not None:
            group.create_array("names", shape=(n,), chunks=(chunk_size,), dtype=str)
            group["names"][:] = np.array([str(v) for v in names])
        if coordinates is not None:
            columns = list(zip(*coordinates)) if n else [[], [], [], []]
            for key, dtype, col in zip(("chrom", "start", "end", "strand"), (str, "int64", "int64", str), columns):
                group.create_array(key, shape=(n,), chunks=(chunk_size,), dtype=dtype)
                group[key][:] = np.array([str(v) if dtype is str else int(v) for v in col])
    seed = meta["random_state"]
    done = np.asarray(group["done"][:]).copy()
    todo = [i for i in range(n_chunks) if not done[i]]

    # sequences of chunks already written must be the ones given now
    for i in np.flatnonzero(done):
        lo, hi = i * chunk_size, min(n, (i + 1) * chunk_size)
        if not np.array_equal(np.asarray(group["X"][lo:hi]), _chunk(X, lo, hi)):
            raise ValueError(f"the store at {path} holds other sequences in rows {lo}..{hi - 1} than the X given: "
                             "pass the same sequences to resume, or resume=False to overwrite")

    def spec(i):
        lo, hi = i * chunk_size, min(n, (i + 1) * chunk_size)
        chunk_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        return lo, hi, (targets[lo:hi], entry, options, chunk_seed, device, batch_size)

    def write(i, lo, hi, x, values, hypothetical):
        group["X"][lo:hi] = x
        group["values"][lo:hi] = values
        group["hypothetical"][lo:hi] = hypothetical
        done[i] = True
        group["done"][:] = done

    bar = tqdm(total=n, initial=n - sum(spec(i)[1] - spec(i)[0] for i in todo), disable=not progress,
               desc=f"{method} -> {path.name}", unit="seq")
    dask_client = _resolve_client(client)
    try:
        if dask_client is None:
            for i in todo:
                lo, hi, args = spec(i)
                x = _chunk(X, lo, hi)
                write(i, lo, hi, x, *_compute_chunk(model, x, *args))
                bar.update(hi - lo)
        else:
            _run_on_cluster(dask_client, model, X, todo, spec, write, bar)
    finally:
        bar.close()
    return AttributionStore.open(path)


def _run_on_cluster(client, model, X, todo, spec, write, bar):
    """Submit chunks to the cluster, at most two per worker in flight; write them as they finish."""
    from distributed import as_completed

    # the model travels pickled (Dask's own torch serialisation loses the modules' hook dicts) and
    # is unpickled once per worker process (_worker_model caches it by fingerprint)
    remote_model = client.scatter((model_fingerprint(model), pickle.dumps(model)), broadcast=True)
    window = max(2, 2 * len(client.scheduler_info().get("workers", {})))
    pending = list(todo)
    inputs = {}

    def submit(i):
        lo, hi, args = spec(i)
        x = _chunk(X, lo, hi)
        future = client.submit(_compute_chunk_remote, remote_model, x, *args, pure=False)
        inputs[future.key] = (i, lo, hi, x)
        return future

    running = as_completed([submit(pending.pop(0)) for _ in range(min(window, len(pending)))])
    for future in running:
        i, lo, hi, x = inputs.pop(future.key)
        values, hypothetical = future.result()
        write(i, lo, hi, x, values, hypothetical)
        bar.update(hi - lo)
        future.release()
        if pending:
            running.add(submit(pending.pop(0)))
