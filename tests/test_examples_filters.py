"""examples/filters.py: correlate2d and convolve2d against plain loops; where they agree and differ."""

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import filters  # noqa: E402


def loops(image, kernel, flip):
    """'same'-size zero-padded cross-correlation (flip=False) or true convolution (flip=True), element by element."""
    h, w = image.shape
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            for p in range(3):
                for q in range(3):
                    # correlation reads x[i + p - 1, j + q - 1]; convolution x[i - p + 1, j - q + 1]
                    a, b = (i - p + 1, j - q + 1) if flip else (i + p - 1, j + q - 1)
                    if 0 <= a < h and 0 <= b < w:
                        out[i, j] += image[a, b] * kernel[p][q]
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("filters")
    return filters.main(["--index", "3", "--out", str(out)]), out


def test_both_match_plain_loops(run):
    res, _ = run
    image = res["image"]
    for name, (corr, conv) in res["outputs"].items():
        k = filters.KERNELS[name]
        np.testing.assert_allclose(corr, loops(image, k, flip=False), atol=1e-12, err_msg=name)
        np.testing.assert_allclose(conv, loops(image, k, flip=True), atol=1e-12, err_msg=name)


def test_agree_on_symmetric_kernels_and_differ_on_asymmetric_ones(run):
    res, _ = run
    symmetric = {name for name, r in res["results"].items() if r["symmetric"]}
    assert symmetric == {"identity", "edge 1", "edge 2", "edge 3", "sharpen", "box blur", "Gaussian blur"}
    for name, r in res["results"].items():
        if name in symmetric:
            assert r["max_abs_corr_minus_conv"] <= 1e-12, name
        else:
            assert r["max_abs_corr_minus_conv"] > 0.1, name
    corr, conv = res["outputs"]["Sobel x"]
    np.testing.assert_allclose(conv, -corr, atol=1e-12)        # turning Sobel flips its sign
    image = res["image"]
    corr, conv = res["outputs"]["shift"]
    np.testing.assert_array_equal(corr[:, :-1], image[:, 1:])  # correlation moves the image left
    np.testing.assert_array_equal(conv[:, 1:], image[:, :-1])  # convolution moves it right
    np.testing.assert_array_equal(res["outputs"]["identity"][0], image)


def test_writes_results(run):
    _, out = run
    assert (out / "filters.json").stat().st_size > 0
    pytest.importorskip("matplotlib")
    assert (out / "filters.png").stat().st_size > 0
