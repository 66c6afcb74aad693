"""Superpixel speed: SuperpixelTransformer (fast-slic) against scikit-image's SLIC.

For each image size, segments the same crops of ``skimage.data`` photos with

* ``SuperpixelTransformer(n_segments, compactness)`` (fast-slic), in one
  process and with ``n_jobs=-1``;
* ``skimage.segmentation.slic`` called directly, image by image, with the
  same segment count and the compactness that gives superpixels of the same
  regularity (the transformer's mapping: half of fast-slic's value, because
  scikit-image measures colour distances on another scale), in one process
  and spread over all cores with joblib (one task per core, as the
  transformer does).

Every time is the best of ``--repeats`` runs; the table gives milliseconds
per image and the speed-ups, which are ratios taken in the same run.

Run:  .venv/bin/python benchmarks/superpixels.py [--sizes 64 224 512 --n-segments 100]
"""

import argparse
import os
import time

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from skimage.segmentation import slic

from _common import photo_crops
from sklearn_p2p import SuperpixelTransformer
from sklearn_p2p._superpixels import _SKIMAGE_COMPACTNESS_SCALE

#: Images per size: enough for a stable time, few enough for scikit-image.
DEFAULT_N_IMAGES = {32: 400, 64: 200, 128: 100, 224: 60, 512: 12}


def best_time(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def skimage_chunk(images, n_segments, compactness):
    return [slic(image, n_segments=n_segments, compactness=compactness, start_label=0,
                 channel_axis=-1) for image in images]


def skimage_slic(images, n_segments, compactness, n_jobs):
    """scikit-image's SLIC on every image, in chunks over ``n_jobs`` processes."""
    n_chunks = min(len(images), effective_n_jobs(n_jobs))
    if n_chunks == 1:
        return skimage_chunk(images, n_segments, compactness)
    return Parallel(n_jobs=n_jobs)(
        delayed(skimage_chunk)(chunk, n_segments, compactness)
        for chunk in np.array_split(images, n_chunks)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224, 512])
    parser.add_argument("--n-images", type=int, default=None,
                        help="images per size (default: fewer for larger sizes)")
    parser.add_argument("--n-segments", type=int, default=100)
    parser.add_argument("--compactness", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    skimage_compactness = args.compactness * _SKIMAGE_COMPACTNESS_SCALE
    n_cores = effective_n_jobs(-1)
    print(f"{os.cpu_count()} CPUs (n_jobs=-1 -> {n_cores} workers); n_segments={args.n_segments}, "
          f"compactness {args.compactness} (scikit-image: {skimage_compactness}); "
          f"best of {args.repeats}; ms per image\n")
    print("| image size | images | fast-slic, 1 process | fast-slic, n_jobs=-1 "
          "| scikit-image, 1 process | scikit-image, n_jobs=-1 | speed-up, 1 process "
          "| speed-up, n_jobs=-1 |")
    print("|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        n_images = args.n_images or DEFAULT_N_IMAGES.get(size, max(10, 200 * 64 ** 2 // size ** 2))
        images = photo_crops(n_images, size, rng)
        floats = images.astype(np.float32) / 255  # what the transformer's skimage backend gets
        ms = {}
        for n_jobs in (None, -1):
            transformer = SuperpixelTransformer(args.n_segments, compactness=args.compactness,
                                                backend="fast-slic", n_jobs=n_jobs)
            ms["fast", n_jobs] = best_time(lambda: transformer.fit_transform(images),
                                           args.repeats)
            ms["skimage", n_jobs] = best_time(
                lambda: skimage_slic(floats, args.n_segments, skimage_compactness, n_jobs),
                args.repeats)
        ms = {key: 1000 * seconds / n_images for key, seconds in ms.items()}
        print(f"| {size}x{size} | {n_images} | {ms['fast', None]:.2f} | {ms['fast', -1]:.2f} "
              f"| {ms['skimage', None]:.2f} | {ms['skimage', -1]:.2f} "
              f"| {ms['skimage', None] / ms['fast', None]:.1f}x "
              f"| {ms['skimage', -1] / ms['fast', -1]:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
