"""examples/adversarial.py, saliency.py and dream.py on a LeNet-5 that train_lenet5.py trains in a second."""

import argparse
import os
import sys

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import adversarial  # noqa: E402
import dream  # noqa: E402
import example_utils  # noqa: E402
import saliency  # noqa: E402
import train_lenet5  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint written by train_lenet5.py: 1,000 images, 2 epochs (about 65% test accuracy)."""
    out = tmp_path_factory.mktemp("lenet5")
    train_lenet5.main(["--limit", "1000", "--epochs", "2", "--batch-size", "32", "--out", str(out), "--no-progress",
                       "--no-plot"])
    return str(out / "checkpoint.npz")


def load(checkpoint):
    return example_utils.lenet5(argparse.Namespace(checkpoint=checkpoint, seed=0))


def fd_input_gradient(f, x, pixels, eps=1e-6):
    """Central differences of the scalar f(x) at the given pixel indices of a float64 x."""
    out = []
    for idx in pixels:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        out.append((f(xp) - f(xm)) / (2 * eps))
    return np.array(out)


def test_pixel_lenet5_loads_train_lenet5_checkpoints(checkpoint):
    model = load(checkpoint)
    plain = train_lenet5.LeNet5()
    plain.load_state_dict(nn.load(checkpoint)["model"])
    _, _, x, _ = example_utils.fashion(n_test=8)
    with ag.no_grad():   # the same network, normalising inside
        np.testing.assert_allclose(model(x).numpy(), plain((x - train_lenet5.MEAN) / train_lenet5.STD).numpy(),
                                   rtol=1e-5, atol=1e-5)


def test_fgsm_accuracy_falls_with_epsilon(checkpoint, tmp_path):
    eps = [0, 0.05, 0.1, 0.2]
    rows = adversarial.main(["--checkpoint", checkpoint, "--samples", "300", "--epsilons", *map(str, eps),
                             "--out", str(tmp_path)])
    acc = [r["accuracy"] for r in rows]
    noise = [r["accuracy_random_signs"] for r in rows]
    model = load(checkpoint)
    _, _, x, y = example_utils.fashion(n_test=300)
    with ag.no_grad():
        clean = float((model(x).numpy().argmax(1) == y).mean())
    assert acc[0] == noise[0] == clean > 0.5
    assert all(a > b for a, b in zip(acc, acc[1:])), acc          # strictly worse with every epsilon
    assert acc[-1] < 0.5 * acc[0]
    for a, n in zip(acc[1:], noise[1:]):                          # the gradient's direction is what hurts
        assert n > a + 0.1, (acc, noise)
    assert (tmp_path / "adversarial.json").stat().st_size > 0
    pytest.importorskip("matplotlib")
    assert (tmp_path / "accuracy.png").stat().st_size > 0 and (tmp_path / "examples.png").stat().st_size > 0


def test_fgsm_input_gradient_matches_finite_differences(checkpoint):
    model = load(checkpoint).double()
    model.requires_grad_(False)
    _, _, x, y = example_utils.fashion(n_test=2)
    x = x.astype(np.float64)
    g = adversarial.input_gradient(model, x, y)
    pixels = [(0, 0, 14, 14), (1, 0, 10, 20), tuple(np.unravel_index(np.abs(g).argmax(), g.shape))]

    def loss(xx):
        with ag.no_grad():
            return F.cross_entropy(model(xx), ag.tensor(y), reduction="sum").item()

    np.testing.assert_allclose([g[p] for p in pixels], fd_input_gradient(loss, x, pixels), rtol=1e-5, atol=1e-8)


def test_adversarial_trains_its_own_lenet5_and_runs_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    rows = adversarial.main(["--train-samples", "300", "--epochs", "1", "--samples", "200", "--epsilons", "0", "0.1",
                             "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "training LeNet-5 on 300 images" in out and "figure skipped" in out
    assert rows[0]["accuracy"] > 0.2 and rows[1]["accuracy"] < rows[0]["accuracy"]
    assert not list(tmp_path.glob("*.png"))


def test_saliency_is_the_input_gradient_of_the_class_score(checkpoint, tmp_path):
    res = saliency.main(["--checkpoint", checkpoint, "--images", "10", "--out", str(tmp_path)])
    sal, x, pred = res["saliency"], res["x"], res["predicted"]
    assert sal.shape == (10, 1, 28, 28) and (sal >= 0).all()
    assert [r["label"] for r in res["rows"]] == list(example_utils.CLASSES)   # one image per class
    # a trained net looks at the garment more than its area alone would explain
    rows = res["rows"]
    assert np.mean([r["saliency_on_garment"] for r in rows]) > np.mean([r["garment_area"] for r in rows]) + 0.05
    # |dS_c/dx| against finite differences, in float64
    model = res["model"].double()
    x = x.astype(np.float64)
    sal64, _ = saliency.saliency(model, x[:1], pred[:1])
    top = tuple(np.unravel_index(sal64.argmax(), sal64.shape))

    def score(xx):
        with ag.no_grad():
            return model(xx).numpy()[0, pred[0]]

    pixels = [top, (0, 0, 5, 5), (0, 0, 20, 14)]
    np.testing.assert_allclose([sal64[p] for p in pixels], np.abs(fd_input_gradient(score, x[:1], pixels)),
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(sal64[0], sal[0], rtol=1e-3, atol=1e-5)   # the script's float32 map
    pytest.importorskip("matplotlib")
    assert (tmp_path / "saliency.png").stat().st_size > 0


def test_dream_makes_images_of_the_target_class(checkpoint, tmp_path):
    # this briefly trained LeNet-5 has small scores: a small L2 weight
    res = dream.main(["--checkpoint", checkpoint, "--steps", "60", "--l2", "0.01", "--classes", "1", "7", "9",
                      "--out", str(tmp_path)])
    assert len(res["runs"]) == 2   # L2 only, L2 + blur
    for name, rows in res["runs"].items():
        for r in rows:
            assert r["score_after"] > r["score_before"] + 3, (name, r)
            assert r["p_before"] < 0.3 and r["p_after"] > 0.8, (name, r)
    for images in res["images"].values():
        assert images.shape == (3, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    # the L2 prior darkens what does not help the score
    model = load(checkpoint)
    model.requires_grad_(False)
    classes = np.array([1, 7, 9])
    light = dream.dream(model, classes, 60, 0.02, l2=0.0)
    dark = dream.dream(model, classes, 60, 0.02, l2=1.0)
    assert dark.mean() < 0.5 * light.mean()
    pytest.importorskip("matplotlib")
    assert (tmp_path / "dream.png").stat().st_size > 0
