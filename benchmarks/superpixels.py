"""Superpixel speed: fast-slic against scikit-image, per image size.

Times ``SuperpixelTransformer(n_segments=100).fit_transform`` on crops of
``skimage.data`` photos for both backends and prints a markdown table.

Run:  .venv/bin/python benchmarks/superpixels.py [--n-images 200 --repeats 3]
"""

import argparse
import time

import numpy as np
from skimage import data
from skimage.transform import resize

from sklearn_p2p import SuperpixelTransformer

SIZES = (32, 64, 128, 224)


def photo_crops(n_images, size, rng):
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    crops = []
    for i in range(n_images):
        photo = photos[i % len(photos)]
        side = rng.randint(min(photo.shape[:2]) // 4, min(photo.shape[:2]))
        top = rng.randint(0, photo.shape[0] - side + 1)
        left = rng.randint(0, photo.shape[1] - side + 1)
        crop = resize(photo[top:top + side, left:left + side], (size, size), anti_aliasing=True)
        crops.append((crop * 255).astype(np.uint8))
    return np.stack(crops)


def best_time(transformer, images, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        transformer.fit_transform(images)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.RandomState(0)
    print(f"{args.n_images} images per size, best of {args.repeats}, ms per image\n")
    print("| image size | fast-slic | scikit-image | speed-up |\n|---|---|---|---|")
    for size in SIZES:
        images = photo_crops(args.n_images, size, rng)
        ms = {
            backend: 1000 * best_time(SuperpixelTransformer(backend=backend), images,
                                      args.repeats) / args.n_images
            for backend in ("fast-slic", "skimage")
        }
        print(f"| {size}x{size} | {ms['fast-slic']:.2f} | {ms['skimage']:.2f} "
              f"| {ms['skimage'] / ms['fast-slic']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
