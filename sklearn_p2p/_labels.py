"""Labels of any type, and the class names of torchvision-style Datasets.

Classifiers record ``classes_`` from the user's labels in ``fit`` and hand
skorch codes ``0 .. n_classes - 1``. A Dataset with a ``classes`` attribute
and integer labels follows torchvision's convention: label ``i`` is the
class named ``classes[i]``, and ``classes_`` holds the names, so that
predictions are named.
"""

import numpy as np
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets

from ._dataset_input import dataset_attribute, item_label

__all__ = ["LabelEncodingMixin"]


class LabelEncodingMixin:
    """``classes_`` and label codes, for classifiers built on skorch.

    Needs the ``classes`` parameter of skorch's ``NeuralNetClassifier`` and
    a ``_set_classes`` method (see :mod:`sklearn_p2p._skorch_compat`).
    """

    def _record_classes(self, classes):
        if len(classes) < 2:
            raise ValueError(
                f"The labels hold one class only ({classes[0]!r}); a classifier "
                "needs at least two classes to learn from."
            )
        self._set_classes(classes)

    def _dataset_labels(self, X, y):
        """What a Dataset tells of its labels, looked up once per call.

        Returns ``labels`` (``y`` when given, else the dataset's ``targets``,
        else None) and ``names``: the dataset's ``classes`` when its labels
        are integers that index them (torchvision's convention), else None.
        Without ``y`` and ``targets`` the first item's label tells the type.
        """
        labels = None if y is None else column_or_1d(y, warn=True)
        if labels is not None and len(labels) != len(X):
            raise ValueError(
                f"X and y have different lengths: {len(X)} items but "
                f"{len(labels)} labels. Pass one label per item."
            )
        if labels is None:
            labels = dataset_attribute(X, "targets")
        names = dataset_attribute(X, "classes")
        if names is None or self.classes is not None:
            return labels, None
        known = labels if labels is not None else [item_label(X[0])]
        return labels, names if np.issubdtype(np.asarray(known).dtype, np.integer) else None

    def _label_codes(self, names=None):
        """Label -> code; with class ``names``, position -> code of its name."""
        codes = {label: code for code, label in enumerate(self.classes_.tolist())}
        if names is None:
            return codes
        return {position: codes[name] for position, name in enumerate(names.tolist())
                if name in codes}

    def _encode_labels(self, y, names=None):
        """``y`` as codes, after checking it holds no label outside ``classes_``."""
        codes = self._label_codes(names)
        # One dictionary lookup per distinct label, not per image.
        distinct, inverse = np.unique(y, return_inverse=True)
        distinct_codes = np.array([codes.get(label, -1) for label in distinct.tolist()],
                                  dtype=np.int64)
        unknown = distinct[distinct_codes < 0]
        if len(unknown):
            raise ValueError(
                f"y contains labels {unknown.tolist()} not among the classes "
                f"{self.classes_.tolist()} seen when the model was initialised."
            )
        return distinct_codes[inverse.ravel()]

    def _dataset_classes(self, labels, names):
        """Classes of a Dataset: ``classes``, its class names, or its labels.

        ``labels`` and ``names`` as :meth:`_dataset_labels` returns them.
        """
        if self.classes is not None:
            return np.asarray(self.classes)
        if names is not None:
            if labels is None:  # every class the dataset names
                return names
            present = np.unique(labels)
            if present.min() < 0 or present.max() >= len(names):
                raise ValueError(
                    f"X has {len(names)} classes but integer labels up to "
                    f"{present.max()} (and from {present.min()}); its labels must "
                    "be positions in its 'classes' attribute."
                )
            return names[present]
        if labels is None:
            raise ValueError(
                f"{type(self).__name__} cannot tell the classes of a Dataset "
                "without reading every item: pass y (the label of each item), "
                "classes=[...], or a dataset with a 'targets' attribute (as "
                "torchvision's and sklearn_p2p.datasets.ImageFolderDataset have)."
            )
        check_classification_targets(labels)
        return np.unique(labels)
