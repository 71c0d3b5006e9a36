"""fashion_mnist(transform=...) serves both splits, as one torchvision call per split would (issue 11): the old rule
normalised the training split only, and a model at 77% measured 27-35% on its unnormalised test split."""

import numpy as np
import pytest

from autograd_core import data
from test_data import _fake_fashion

NORMALIZE = data.Normalize([0.286], [0.353])


def _pixels(ds):
    return ds[:][0].data


def test_one_transform_serves_both_splits():
    train, test = data.fashion_mnist_small(transform=NORMALIZE)
    raw_train, raw_test = data.fashion_mnist_small()
    np.testing.assert_allclose(_pixels(test), (_pixels(raw_test) - 0.286) / 0.353, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_pixels(train), (_pixels(raw_train) - 0.286) / 0.353, rtol=1e-5, atol=1e-6)
    assert abs(float(_pixels(test).mean())) < 0.1          # normalised: mean near 0, not Fashion-MNIST's 0.29


def test_a_separate_test_transform_when_asked(tmp_path):
    _fake_fashion(tmp_path)
    train, test = data.fashion_mnist(tmp_path, transform=NORMALIZE, test_transform=None)
    raw_train, raw_test = data.fashion_mnist(tmp_path)
    np.testing.assert_array_equal(_pixels(test), _pixels(raw_test))
    np.testing.assert_allclose(_pixels(train), (_pixels(raw_train) - 0.286) / 0.353, rtol=1e-5, atol=1e-6)
    half = data.Lambda(lambda x: x * 0.5)
    train, test = data.fashion_mnist(tmp_path, transform=NORMALIZE, test_transform=half)
    np.testing.assert_allclose(_pixels(test), _pixels(raw_test) * 0.5)


@pytest.mark.parametrize("loader", [data.fashion_mnist_small, lambda **k: data.fashion_mnist("/nowhere", **k)])
def test_random_augmentation_needs_an_explicit_test_transform(loader):
    augment = data.Compose([data.RandomCrop(28, padding=2), data.Compose([data.RandomHorizontalFlip()]), NORMALIZE])
    with pytest.raises(ValueError, match=r"transform holds random augmentation \(RandomCrop, RandomHorizontalFlip\), "
                                         r"which the test split must not get; pass test_transform= too"):
        loader(transform=augment)
    if loader is data.fashion_mnist_small:
        train, test = loader(transform=augment, test_transform=NORMALIZE)
        assert abs(float(_pixels(test).mean())) < 0.1
