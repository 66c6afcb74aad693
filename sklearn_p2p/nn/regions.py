"""Moving values between pixels and superpixel regions.

A batch of label maps ``segments`` of shape ``(B, H, W)`` holds, per image,
contiguous region ids ``0 .. D_b - 1``. Images in a batch may have different
region counts, so region tensors are padded to ``n_regions = max_b D_b``;
padded regions have size zero and therefore never touch a pixel.
"""

import torch

__all__ = ["count_regions", "region_sizes", "region_mean", "regions_to_pixels"]


def count_regions(segments):
    """Number of regions per image, ``(B,)`` long tensor (ids are contiguous)."""
    return segments.flatten(1).amax(dim=1) + 1


def region_sizes(segments, n_regions):
    """Pixel count of every region, ``(B, n_regions)`` float tensor."""
    flat = segments.flatten(1)
    sizes = torch.zeros(flat.shape[0], n_regions, device=segments.device)
    return sizes.scatter_add_(1, flat, torch.ones_like(flat, dtype=sizes.dtype))


def region_mean(values, segments, n_regions):
    """Average per-pixel ``values`` over each region (scatter-mean).

    Parameters
    ----------
    values : Tensor of shape (B, C, H, W)
    segments : LongTensor of shape (B, H, W)
    n_regions : int
        Padded region count, at least ``segments.max() + 1``.

    Returns
    -------
    Tensor of shape (B, n_regions, C)
        Zero for padded (empty) regions.
    """
    batch, channels = values.shape[:2]
    flat_values = values.flatten(2)
    index = segments.flatten(1).unsqueeze(1).expand(-1, channels, -1)
    sums = flat_values.new_zeros(batch, channels, n_regions)
    sums = sums.scatter_add(2, index, flat_values)
    sizes = region_sizes(segments, n_regions).to(values.dtype)
    return (sums / sizes.clamp(min=1).unsqueeze(1)).transpose(1, 2)


def regions_to_pixels(region_values, segments):
    """Broadcast one value per region back onto its pixels.

    Parameters
    ----------
    region_values : Tensor of shape (B, n_regions)
    segments : LongTensor of shape (B, H, W)

    Returns
    -------
    Tensor of shape (B, H, W)
        Constant on every region, so a thresholded result is always a union
        of whole superpixels.
    """
    pixels = torch.gather(region_values, 1, segments.flatten(1))
    return pixels.view(segments.shape)
