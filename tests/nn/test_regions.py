import torch

from sklearn_p2p.nn import count_regions, region_mean, region_sizes, regions_to_pixels


def _two_images():
    # image 0: three regions; image 1: two regions (padded to three).
    seg0 = torch.tensor([[0, 0, 1], [2, 2, 1]])
    seg1 = torch.tensor([[0, 1, 1], [0, 1, 1]])
    return torch.stack([seg0, seg1])


def test_region_sizes_and_counts_match_hand_count():
    segments = _two_images()
    assert count_regions(segments).tolist() == [3, 2]
    assert region_sizes(segments, 3).tolist() == [[2, 2, 2], [2, 4, 0]]


def test_region_mean_matches_hand_computed_example():
    segments = _two_images()
    values = torch.tensor(
        [
            [[[1.0, 3.0, 10.0], [4.0, 6.0, 20.0]]],
            [[[2.0, 1.0, 3.0], [4.0, 5.0, 7.0]]],
        ]
    )  # (B=2, C=1, H=2, W=3)
    pooled = region_mean(values, segments, 3)
    assert pooled.shape == (2, 3, 1)
    expected = torch.tensor([[2.0, 15.0, 5.0], [3.0, 4.0, 0.0]])
    torch.testing.assert_close(pooled[..., 0], expected)


def test_region_mean_propagates_gradients_to_every_pixel_of_the_region():
    segments = _two_images()
    values = torch.rand(2, 2, 2, 3, requires_grad=True)
    region_mean(values, segments, 3)[:, 1, 0].sum().backward()
    grad = values.grad[:, 0]
    assert torch.equal(grad[0] != 0, segments[0] == 1)
    assert torch.equal(grad[1] != 0, segments[1] == 1)


def test_region_mean_is_the_same_for_channels_last_values():
    # Channels-last values (the selector's output for packed input) are summed
    # along another view: same means, same gradients.
    torch.manual_seed(0)
    segments = torch.randint(0, 7, (3, 5, 6))
    values = torch.randn(3, 4, 5, 6)
    results = []
    for memory_format in (torch.contiguous_format, torch.channels_last):
        leaf = values.contiguous(memory_format=memory_format).detach().requires_grad_()
        pooled = region_mean(leaf, segments, 8)
        pooled.backward(torch.linspace(-1, 1, pooled.numel()).view(pooled.shape))
        results.append((pooled.detach(), leaf.grad))
    torch.testing.assert_close(results[1][0], results[0][0])
    torch.testing.assert_close(results[1][1], results[0][1])


def test_regions_to_pixels_broadcasts_each_region_value():
    segments = _two_images()
    region_values = torch.tensor([[0.1, 0.2, 0.3], [5.0, 7.0, 9.0]])
    pixels = regions_to_pixels(region_values, segments)
    expected = torch.tensor(
        [[[0.1, 0.1, 0.2], [0.3, 0.3, 0.2]], [[5.0, 7.0, 7.0], [5.0, 7.0, 7.0]]]
    )
    torch.testing.assert_close(pixels, expected)


def test_thresholded_pixel_mask_is_a_union_of_whole_regions():
    generator = torch.Generator().manual_seed(0)
    segments = torch.randint(0, 12, (4, 16, 16), generator=generator)
    region_mask = (torch.rand(4, 12, generator=generator) > 0.5).float()
    pixel_mask = regions_to_pixels(region_mask, segments)
    for b in range(4):
        for region in range(12):
            values = pixel_mask[b][segments[b] == region]
            assert values.numel() == 0 or bool((values == values[0]).all())
