"""Reading stored superpixels against computing them, per image.

For data read item by item (a torch Dataset), compares the time per item of

* computing the label map (``SuperpixelDataset`` without a cache, i.e.
  ``SuperpixelTransformer.transform`` of one image), with fast-slic and with
  scikit-image;
* a ``joblib.Memory`` hit per image (``SuperpixelTransformer(memory=...)``
  called on one image at a time);
* a hit in ``SuperpixelDataset``'s memory-mapped file (``cache_dir``): the
  digest of the image plus one row read.

Images come from an in-memory list, so file reading and decoding are not
counted. Every time is the best of ``--repeats`` passes over the images,
after a pass that fills the caches.

Run:  .venv/bin/python benchmarks/superpixel_cache.py [--sizes 64 224 --n-images 40]
"""

import argparse
import tempfile
import time

import numpy as np

from _common import photo_crops
from sklearn_p2p import SuperpixelDataset, SuperpixelTransformer
from sklearn_p2p._superpixels import _fast_slic_class


def per_item_ms(read, n_items, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(n_items):
            read(i)
        best = min(best, time.perf_counter() - start)
    return 1e3 * best / n_items


def measure(size, n_images, n_segments, repeats, backend):
    images = photo_crops(n_images, size, np.random.RandomState(0))
    items = [(image, 0) for image in images]
    transformer = SuperpixelTransformer(n_segments=n_segments, backend=backend)
    row = {}
    plain = SuperpixelDataset(items, transformer)
    row["compute"] = per_item_ms(plain.__getitem__, n_images, repeats)
    with tempfile.TemporaryDirectory() as folder:
        joblib_cached = SuperpixelDataset(items, transformer.set_params(memory=folder))
        per_item_ms(joblib_cached.__getitem__, n_images, 1)  # fill
        row["joblib.Memory hit"] = per_item_ms(joblib_cached.__getitem__, n_images, repeats)
        transformer.set_params(memory=None)
    with tempfile.TemporaryDirectory() as folder:
        mapped = SuperpixelDataset(items, transformer, cache_dir=folder)
        per_item_ms(mapped.__getitem__, n_images, 1)  # fill
        row["memory-mapped hit"] = per_item_ms(mapped.__getitem__, n_images, repeats)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    parser.add_argument("--n-images", type=int, default=40)
    parser.add_argument("--n-segments", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    backends = ["skimage"] + (["fast-slic"] if _fast_slic_class() is not None else [])
    print(f"{args.n_images} photo crops per size, {args.n_segments} segments, "
          f"best of {args.repeats}; milliseconds per item")
    header = f"{'size':>5} {'backend':>10} {'compute':>9} {'joblib hit':>11} {'mmap hit':>9}"
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        for backend in backends:
            row = measure(size, args.n_images, args.n_segments, args.repeats, backend)
            print(f"{size:>5} {backend:>10} {row['compute']:>9.2f} "
                  f"{row['joblib.Memory hit']:>11.2f} {row['memory-mapped hit']:>9.2f}")


if __name__ == "__main__":
    main()
