"""
Your own images: a folder with one sub-folder per class
=======================================================

:func:`~sklearn_p2p.datasets.load_image_folder` reads the layout used by
torchvision's ``ImageFolder`` (``root/<class>/<image>``), resizes the images to
one size and, when a second folder holds object masks with the same layout,
loads those too, so that explanations can be scored against them.

To stay self-contained, this example first writes such a folder from
:func:`~sklearn_p2p.datasets.make_pasted_objects`; with your own data, start at
``load_image_folder``. The last section trains from the folder without
loading it, with augmentation, as for a data set larger than memory.
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage.io import imsave

from sklearn_p2p import P2PClassifier, SuperpixelTransformer
from sklearn_p2p.datasets import load_image_folder, make_pasted_objects
from sklearn_p2p.metrics import localization_score
from sklearn_p2p.plotting import plot_explanations

FAST = os.environ.get("SKLEARN_P2P_FAST_EXAMPLES") == "1"

# %%
# Write a folder of 48x48 PNGs (three digit classes on photographs) and a
# folder of their object masks.
source = make_pasted_objects(n_samples=60 if FAST else 500, image_size=48,
                             n_classes=3, random_state=0)
workdir = tempfile.TemporaryDirectory()
images_dir, masks_dir = Path(workdir.name, "images"), Path(workdir.name, "masks")
for i, (image, mask, label) in enumerate(zip(source.images, source.masks, source.target)):
    name = source.target_names[label].replace(" ", "_")
    for folder in (images_dir / name, masks_dir / name):
        folder.mkdir(parents=True, exist_ok=True)
    imsave(images_dir / name / f"{i:04d}.png", image, check_contrast=False)
    imsave(masks_dir / name / f"{i:04d}.png", (mask * 255).astype(np.uint8),
           check_contrast=False)
print(sorted(p.name for p in images_dir.iterdir()))

# %%
# Load it at 32x32. ``target_names`` are the folder names, ``filenames`` say
# where each image came from.
data = load_image_folder(images_dir, mask_path=masks_dir, image_size=32)
print(data.images.shape, data.masks.shape, data.target_names)

# %%
# Train on a random 80% and explain the rest.
rng = np.random.RandomState(0)
order = rng.permutation(len(data.images))
n_train = int(0.8 * len(order))
train, test = order[:n_train], order[n_train:]

clf = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=50),
                    max_epochs=2 if FAST else 20, random_state=0, verbose=0)
clf.fit(data.images[train], data.target[train])
details = clf.explain(data.images[test], return_details=True)
print(f"test accuracy {np.mean(details.y_pred == data.target[test]):.2f}, "
      f"kept fraction {details.kept_fraction.mean():.2f}, "
      f"kept pixels on the digit {localization_score(details.masks, data.masks[test]):.2f} "
      f"(digit covers {data.masks[test].mean():.2f})")

# %%
titles = [f"{data.target_names[p]} ({Path(f).name})"
          for p, f in zip(details.y_pred[:4], data.filenames[test][:4])]
plot_explanations(data.images[test][:4], details.masks[:4],
                  segments=details.segments[:4], titles=titles, n_cols=2)
plt.show()

# %%
# Too large for memory? Read it lazily
# ------------------------------------
# :class:`~sklearn_p2p.datasets.ImageFolderDataset` keeps only the file
# names; :class:`~sklearn_p2p.P2PClassifier` then reads, augments and
# segments one batch at a time (in DataLoader workers with
# ``iterator_train__num_workers``). The augmentation is torchvision's, applied
# to each image before its superpixels are computed, so every epoch sees new
# crops with superpixels of their own. The test images are only resized.
# With 20 epochs on 400 images the augmented model ends behind the one above
# (random crops make every epoch harder); what it shows here is the data path.
import torch
from torchvision import transforms

from sklearn_p2p.datasets import ImageFolderDataset

augment = transforms.Compose([
    transforms.RandomResizedCrop(32, scale=(0.6, 1.0)),
    transforms.RandomHorizontalFlip(),
    transforms.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3),
])
train_set = torch.utils.data.Subset(ImageFolderDataset(images_dir, transform=augment), train)
test_set = torch.utils.data.Subset(ImageFolderDataset(images_dir, image_size=32), test)

lazy = P2PClassifier(superpixels=SuperpixelTransformer(n_segments=50),
                     max_epochs=2 if FAST else 20, random_state=0, verbose=0)
lazy.fit(train_set)  # the classes come from the dataset's targets
lazy_details = lazy.explain(test_set, return_details=True)
print(f"trained from the folder with augmentation: test accuracy "
      f"{np.mean(lazy_details.y_pred == data.target[test]):.2f}, kept pixels on the digit "
      f"{localization_score(lazy_details.masks, data.masks[test]):.2f}")
workdir.cleanup()
