"""Moving values between pixels and superpixel regions.

A batch of label maps ``segments`` of shape ``(B, H, W)`` holds, per image,
contiguous region ids ``0 .. D_b - 1``. Images in a batch may have different
region counts, so region tensors are padded to ``n_regions = max_b D_b``;
padded regions have size zero and therefore never touch a pixel.
"""

import torch

__all__ = ["count_regions", "region_sizes", "region_mean", "regions_to_pixels"]


def count_regions(segments):
    """Number of regions per image (the ids of each label map are contiguous).

    Parameters
    ----------
    segments : LongTensor of shape (B, H, W)
        Label maps with ids ``0 .. D_b - 1`` per image.

    Returns
    -------
    n_regions : LongTensor of shape (B,)
        ``D_b``, the largest id of each image plus one.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import count_regions
    >>> segments = torch.tensor([[[0, 1], [1, 1]], [[0, 1], [2, 3]]])
    >>> count_regions(segments)
    tensor([2, 4])
    """
    return segments.flatten(1).amax(dim=1) + 1


def region_sizes(segments, n_regions):
    """Pixel count of every region.

    Parameters
    ----------
    segments : LongTensor of shape (B, H, W)
        Label maps with contiguous ids per image.
    n_regions : int
        Padded region count, at least ``segments.max() + 1``.

    Returns
    -------
    sizes : Tensor of shape (B, n_regions)
        Number of pixels of each region, as floats; 0 for padded regions.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import region_sizes
    >>> segments = torch.tensor([[[0, 1], [1, 1]]])
    >>> region_sizes(segments, n_regions=3)
    tensor([[1., 3., 0.]])
    """
    flat = segments.flatten(1)
    sizes = torch.zeros(flat.shape[0], n_regions, device=segments.device)
    return sizes.scatter_add_(1, flat, torch.ones_like(flat, dtype=sizes.dtype))


def region_mean(values, segments, n_regions, sizes=None):
    """Average per-pixel ``values`` over each region (scatter-mean).

    This is how P2P turns the selector's per-pixel outputs into the region
    parameters ``mu_j`` and ``E_j``: each is the mean over the pixels of
    region ``R_j``.

    Parameters
    ----------
    values : Tensor of shape (B, C, H, W)
        Per-pixel values, channel first.
    segments : LongTensor of shape (B, H, W)
        Label maps with contiguous ids per image.
    n_regions : int
        Padded region count, at least ``segments.max() + 1``.
    sizes : Tensor of shape (B, n_regions), default=None
        :func:`region_sizes` of ``segments``, when the caller has them
        already; computed otherwise.

    Returns
    -------
    means : Tensor of shape (B, n_regions, C)
        Mean of every channel over every region; zero for padded (empty)
        regions.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import region_mean
    >>> values = torch.tensor([[[[1.0, 2.0], [4.0, 6.0]]]])  # (1, 1, 2, 2)
    >>> segments = torch.tensor([[[0, 1], [1, 1]]])
    >>> region_mean(values, segments, n_regions=2)
    tensor([[[1.],
             [4.]]])
    """
    batch, channels = values.shape[:2]
    if sizes is None:
        sizes = region_sizes(segments, n_regions)
    sizes = sizes.to(values.dtype).clamp(min=1)
    if values.is_contiguous(memory_format=torch.channels_last) and not values.is_contiguous():
        # Channels-last values (the selector's output for the packed input):
        # sum along the pixels of the (B, H W, C) view, without the copy that
        # flattening the channel-first view would make. Same sums, same order.
        flat_values = values.permute(0, 2, 3, 1).reshape(batch, -1, channels)
        index = segments.flatten(1).unsqueeze(-1).expand(-1, -1, channels)
        sums = flat_values.new_zeros(batch, n_regions, channels)
        sums = sums.scatter_add(1, index, flat_values)
        return sums / sizes.unsqueeze(-1)
    flat_values = values.flatten(2)
    index = segments.flatten(1).unsqueeze(1).expand(-1, channels, -1)
    sums = flat_values.new_zeros(batch, channels, n_regions)
    sums = sums.scatter_add(2, index, flat_values)
    return (sums / sizes.unsqueeze(1)).transpose(1, 2)


def regions_to_pixels(region_values, segments):
    """Broadcast one value per region back onto its pixels.

    Parameters
    ----------
    region_values : Tensor of shape (B, n_regions)
        One value per region, e.g. a region mask.
    segments : LongTensor of shape (B, H, W)
        Label maps with contiguous ids per image.

    Returns
    -------
    pixel_values : Tensor of shape (B, H, W)
        Each pixel's region value. Constant on every region, so a thresholded
        result is always a union of whole superpixels.

    Examples
    --------
    >>> import torch
    >>> from sklearn_p2p.nn import regions_to_pixels
    >>> segments = torch.tensor([[[0, 1], [1, 2]]])
    >>> regions_to_pixels(torch.tensor([[1.0, 0.0, 1.0]]), segments)
    tensor([[[1., 0.],
             [0., 1.]]])
    """
    pixels = torch.gather(region_values, 1, segments.flatten(1))
    return pixels.view(segments.shape)
