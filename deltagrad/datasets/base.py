"""What image-classification datasets share: ``.data``, ``.targets``, ``classes``, per-sample and
whole-batch access with transforms, and ``as_tensors()``."""
from __future__ import annotations

import numpy as np

from ..tensor import _make
from ..utils.data.dataset import Dataset, StackedBatch, _as_index_array
from ..utils.data.transforms import Compose, ToTensor


def _starts_with_to_tensor(transform):
    """A transform the batch path may call on raw images stacked as (N, H, W, 1)."""
    if isinstance(transform, ToTensor):
        return True
    return (isinstance(transform, Compose) and bool(transform.transforms)
            and isinstance(transform.transforms[0], ToTensor) and transform.batched)


class ImageClassificationDataset(Dataset):
    """``data``: images (N, H, W) as stored; ``targets``: int64 labels (N,).

    Sample ``i`` is ``(image, label)``: the image as a NumPy (H, W) array (``_raw``),
    the label as an int, each passed through ``transform`` / ``target_transform``.
    ``__getitems__`` fetches a batch with one index when the transforms allow it (no
    transform, or a ``Compose`` of this library's transforms starting with ``ToTensor``).
    """

    classes: list = []
    _scale = 255.0     # as_tensors divides the stored values by this to land in [0, 1]

    def __init__(self, data, targets, transform=None, target_transform=None):
        self.data = data
        self.targets = np.asarray(targets, dtype=np.int64)
        self.transform, self.target_transform = transform, target_transform

    def _raw(self, index):
        """The stored image(s) at ``index`` as handed to ``transform``."""
        return self.data[index]

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self._raw(index), int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices):
        tt = self.target_transform
        fast = (self.transform is None or _starts_with_to_tensor(self.transform)) and \
            (tt is None or getattr(tt, "batched", False))
        if not fast:
            return [self[int(i)] for i in indices]
        idx = _as_index_array(indices, len(self), type(self).__name__)
        imgs, targets = self._raw(idx), self.targets[idx]
        if self.transform is not None:
            imgs = self.transform(imgs[..., None])
        if tt is not None:
            targets = tt(targets)
        return StackedBatch((imgs, targets))

    def as_tensors(self, flatten=False):
        """The whole set as ``(X, y)``: float32 images in [0, 1] of shape (N, 1, H, W) (or
        (N, H*W) with ``flatten``) and int64 labels (N,). Transforms are not applied."""
        x = self.data.astype(np.float32)
        x /= np.float32(self._scale)
        x = x.reshape(len(x), -1) if flatten else x[:, None]
        return _make(x), _make(self.targets.copy())

    def __repr__(self):
        split = {True: "train", False: "test"}.get(getattr(self, "train", None), "all")
        return (f"{type(self).__name__}(split={split}, samples={len(self)}, "
                f"image_shape={tuple(self.data.shape[1:])}, classes={len(self.classes)})")
