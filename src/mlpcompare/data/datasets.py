"""What each dataset is: the downloaded IDX sets (where from, their checksums, their classes),
the embedded and synthetic ones, and their shapes, known without downloading or generating them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlpcompare.logs import UserError

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class DataError(UserError):
    """A dataset problem the user can fix (bad mirror, corrupt file, wrong checksum)."""


@dataclass(frozen=True)
class RemoteDataset:
    """An IDX dataset published as four gzipped files under each of ``urls``.

    ``hashes`` are pooch-style ``"sha256:..."`` (or ``"md5:..."`` where the authors publish only
    MD5) keyed by file name.
    """

    urls: tuple[str, ...]
    hashes: dict[str, str]
    classes: tuple[str, ...]


REMOTE = {
    "mnist": RemoteDataset(
        urls=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        hashes={
            "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        classes=tuple(str(d) for d in range(10)),
    ),
    "fashion-mnist": RemoteDataset(
        urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        hashes={
            "train-images-idx3-ubyte.gz": "sha256:3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "train-labels-idx1-ubyte.gz": "sha256:a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "t10k-images-idx3-ubyte.gz": "sha256:346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "t10k-labels-idx1-ubyte.gz": "sha256:67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),  # fmt: skip
    ),
    # KMNIST's authors publish MD5 only (the same values torchvision pins).
    "kmnist": RemoteDataset(
        urls=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        hashes={
            "train-images-idx3-ubyte.gz": "md5:bdb82020997e1d708af4cf47b453dcf7",
            "train-labels-idx1-ubyte.gz": "md5:e144d726b3acfaa3e44228e80efcd344",
            "t10k-images-idx3-ubyte.gz": "md5:5c965bf0a639b31b8f53240b1b52f4d7",
            "t10k-labels-idx1-ubyte.gz": "md5:7320c461ea6c1c855c0b718fb2a4b134",
        },
        classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    ),
}
# Generated from `synthetic.n_samples` and `synthetic.noise`; digits ships with scikit-learn.
SYNTHETIC = ("xor", "circles")
EMBEDDED = ("digits", *SYNTHETIC)
DATASETS = (*EMBEDDED, *REMOTE)

# The MNIST family's official parts (train-* and t10k-* files): 60,000 and 10,000 images.
IDX_TRAIN_SIZE, IDX_TEST_SIZE = 60_000, 10_000


def dataset_shape(dataset: str, n_samples: int = 2000) -> tuple[int, int, int]:
    """(samples, features, classes) of ``dataset`` without downloading or generating it.

    The MNIST family: 70,000 28x28 images of 10 classes; digits: 1,797 8x8 images of 10
    classes; xor and circles: ``n_samples`` (config ``synthetic.n_samples``) points of 2
    coordinates in 2 classes. The start-up checks (:mod:`mlpcompare.training.limits`) size runs by it.
    """
    if dataset in REMOTE:
        return IDX_TRAIN_SIZE + IDX_TEST_SIZE, 28 * 28, len(REMOTE[dataset].classes)
    if dataset == "digits":
        return 1797, 64, 10
    if dataset in SYNTHETIC:
        return int(n_samples), 2, 2
    raise DataError(f"unknown dataset {dataset!r}")


def xor_set(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]^2 labelled by the sign of x*y (the classic non-linearly-separable XOR)."""
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.normal(0.0, noise, size=x.shape), y


def embedded_dataset(name: str, n_samples: int, noise: float, seed: int) -> dict:
    """Features (n, d) float64 in their natural range, labels (n,), image shape or None, classes."""
    # scikit-learn is imported here, not at the top: the Snakefile imports this module, and
    # every Snakemake start (each dry run of the tests) would otherwise pay its ~1 s import.
    from sklearn.datasets import load_digits, make_circles

    if name == "digits":
        bunch = load_digits()
        return {"x": bunch.data / 16.0, "y": bunch.target, "image_shape": (8, 8),
                "classes": [str(c) for c in bunch.target_names]}  # fmt: skip
    rng = np.random.default_rng(seed)
    if name == "xor":
        x, y = xor_set(n_samples, noise, rng)
    elif name == "circles":
        x, y = make_circles(n_samples, noise=noise, factor=0.5, random_state=seed)
    else:
        raise DataError(f"unknown dataset {name!r}")
    return {"x": x, "y": y, "image_shape": None, "classes": ["0", "1"]}
