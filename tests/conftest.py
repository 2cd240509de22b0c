import numpy as np
import pytest

from maist.dataset import MaistData, Split


def tiny_data(num_classes=4, per_class=60, seed=0) -> MaistData:
    """Separable 28x28 images: class k is a bright bar in column band k, plus noise."""
    rng = np.random.default_rng(seed)
    splits = []
    for s in range(3):
        y = np.repeat(np.arange(num_classes), per_class if s == 0 else per_class // 4)
        x = rng.random((len(y), 28, 28)).astype(np.float32) * 0.3
        for i, k in enumerate(y):
            x[i, 4:24, 3 + 6 * k : 6 + 6 * k] = 1.0
        splits.append(Split(x.reshape(len(y), 784), y, np.full(len(y), s), seed=seed + s))
    classes = tuple("あいうえおかきくけこ"[:num_classes])
    return MaistData(*splits, classes, {"preprocess": "centered", "split": "test"})


@pytest.fixture
def tiny():
    return tiny_data()
