"""Hand-made 3x3 kernels on a Fashion-MNIST image: cross-correlation versus true convolution.

A convolutional layer slides a kernel over the image and takes, at every
position, the sum of the pixels times the kernel's weights. Cross-correlation
(``correlate2d``, what CNN layers compute) uses the kernel as it is; true
convolution (``convolve2d``, the signal-processing definition) first turns it
by 180 degrees. The notes' kernels (identity, three edge detectors, sharpen,
box blur, Gaussian blur) are all unchanged by that turn, so the two agree on
them; on a kernel that changes (Sobel, emboss, a shift by one pixel) they
differ: Sobel's sign flips, and the shift moves the image the other way.

Each result is also computed with plain numpy (nine shifted copies of the
padded image, weighted and summed) and compared.

    python examples/filters.py [--index 0] [--out runs/filters]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import autograd_core as ag
from example_utils import CLASSES, fashion, no_matplotlib, output_dir, pyplot, save_figure, save_json

KERNELS = {
    # the notes' kernels: each one equals itself turned by 180 degrees
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge 1": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
    "edge 2": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "edge 3": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box blur": np.ones((3, 3)) / 9,
    "Gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    # asymmetric ones: turning them changes them
    "Sobel x": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "shift": [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
}


def numpy_correlate(image, kernel):
    """Cross-correlation with zero padding ('same' size), in plain numpy.

    ``out[i, j] = sum_{p, q} image[i + p - 1, j + q - 1] * kernel[p, q]``: one
    shifted copy of the padded image per kernel weight.
    """
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    h, w = image.shape
    return sum(kernel[p, q] * padded[p:p + h, q:q + w] for p in range(kh) for q in range(kw))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=int, default=0, help="which test image of the bundled sample (default 0)")
    p.add_argument("--out", default=os.path.join("runs", "filters"))
    args = p.parse_args(argv)
    output_dir(args.out)

    _, _, x_test, y_test = fashion()
    image = x_test[args.index, 0].astype(np.float64)
    print(f"test image {args.index}: a {CLASSES[y_test[args.index]]}, {image.shape[0]}x{image.shape[1]} pixels")
    print(f"{'kernel':14s} {'turned = itself':>16s} {'max |corr - conv|':>18s} {'max |corr - numpy|':>19s} "
          f"{'max |conv - numpy|':>19s}")
    results, outputs = {}, {}
    for name, k in KERNELS.items():
        k = np.asarray(k, dtype=np.float64)
        corr = ag.correlate2d(image, k, padding="same").numpy()
        conv = ag.convolve2d(image, k, padding="same").numpy()
        symmetric = bool(np.array_equal(k, k[::-1, ::-1]))
        r = {"kernel": k, "symmetric": symmetric,
             "max_abs_corr_minus_conv": float(np.abs(corr - conv).max()),
             "max_abs_corr_minus_numpy": float(np.abs(corr - numpy_correlate(image, k)).max()),
             "max_abs_conv_minus_numpy": float(np.abs(conv - numpy_correlate(image, k[::-1, ::-1])).max())}
        print(f"{name:14s} {str(symmetric):>16s} {r['max_abs_corr_minus_conv']:18.3g} "
              f"{r['max_abs_corr_minus_numpy']:19.2g} {r['max_abs_conv_minus_numpy']:19.2g}")
        results[name], outputs[name] = r, (corr, conv)
    print("The two agree exactly on every kernel that equals itself turned by 180 degrees.")

    save_json({"index": args.index, "label": CLASSES[y_test[args.index]], "kernels": results},
              os.path.join(args.out, "filters.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, axes = plt.subplots(3, len(KERNELS) + 1, figsize=(2 * (len(KERNELS) + 1), 6.4))
        axes[0, 0].imshow(image, cmap="gray")
        axes[0, 0].set_title("image")
        for ax in axes[1:, 0]:
            ax.set_visible(False)
        for col, name in enumerate(KERNELS, 1):
            k = results[name]["kernel"]
            lim = np.abs(k).max()
            axes[0, col].imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
            axes[0, col].set_title(name)
            for row, (what, out) in enumerate(zip(("correlate2d", "convolve2d"), outputs[name]), 1):
                axes[row, col].imshow(out, cmap="gray")
                axes[row, col].set_title(what, fontsize=9)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        save_figure(fig, os.path.join(args.out, "filters.png"))
    return {"results": results, "outputs": outputs, "image": image}


if __name__ == "__main__":
    main()
