"Bad input, batch consistency, devices and dtypes of `mac_fame_be.background` and `mac_fame_be.masks`."
import pytest, torch
from mac_fame_be.background import to_gray, momentum_background, background_difference
from mac_fame_be._reference import toy_clips
from mac_fame_be.masks import (mac_masks, fame_masks, fame_scores, gauss_masks, seed_masks, grid_masks, mask_metrics,
                               topk_mask)

def _clip(b=3, t=6, h=20, w=24, seed=0, dtype=torch.float32):
    return torch.rand(b, 3, t, h, w, generator=torch.Generator().manual_seed(seed)).to(dtype)

@pytest.mark.parametrize('call, match', [
    (lambda c: mac_masks(c, lam=-0.1), r'lam must be in \[0, 1\], got -0.1'),
    (lambda c: mac_masks(c, lam=30), r'lam must be in \[0, 1\], got 30'),
    (lambda c: mac_masks(c, m=1.5), r'm must be in \[0, 1\], got 1.5'),
    (lambda c: mac_masks(c, convention='opencv'), r"convention must be 'paper' or 'code'"),
    (lambda c: fame_masks(c, beta=0), r'beta must be in \(0, 1\], got 0'),
    (lambda c: fame_masks(c, beta=1.5), r'beta must be in \(0, 1\], got 1.5'),
    (lambda c: fame_masks(c[:, :, :1]), r'at least 2 frames'),
    (lambda c: gauss_masks(c, beta=2), r'beta must be in \(0, 1\]'),
    (lambda c: seed_masks(c, beta=-1), r'beta must be in \(0, 1\]'),
    (lambda c: grid_masks(c, grid=0), r'grid must be an int >= 1'),
    (lambda c: mac_masks(c[:, :2]), r'B×3×T×H×W'),
    (lambda c: fame_masks(c[0]), r'B×3×T×H×W'),
    (lambda c: mac_masks((c * 255).to(torch.uint8)), r'float'),
    (lambda c: mac_masks(c.numpy()), r'torch.Tensor'),
    (lambda c: momentum_background(to_gray(c), m=2), r'm must be in \[0, 1\]'),
    (lambda c: momentum_background(c), r'B×T×H×W'),
    (lambda c: mask_metrics(torch.zeros(2, 4, 4), torch.zeros(2, 5, 5)), r'matching shapes'),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match): call(_clip())

@pytest.mark.parametrize('fn', [lambda c: mac_masks(c), lambda c: mac_masks(c, 10 / 255, 0.1, soft=False, dilate=False),
                                lambda c: mac_masks(c, convention='code', m=0.2), lambda c: fame_scores(c),
                                lambda c: fame_scores(c, hue_fix=False), lambda c: gauss_masks(c), lambda c: seed_masks(c)])
def test_batch_is_per_sample(fn):
    "Each sample's mask depends on that sample only: the batch equals the samples one at a time."
    c = _clip(4)
    out = fn(c)
    for i in range(4): torch.testing.assert_close(out[i], fn(c[i:i + 1])[0], atol=1e-5, rtol=1e-5)

@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_device_and_dtype(dtype):
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for dev in devices:
        c = _clip(dtype=dtype).to(dev)
        for out in (mac_masks(c), fame_masks(c), gauss_masks(c), seed_masks(c), grid_masks(c), to_gray(c),
                    background_difference(to_gray(c))):
            assert out.device == c.device and out.dtype == dtype

def test_ranges_and_counts():
    c = _clip()
    mm = mac_masks(c)
    assert mm.shape == (3, 6, 20, 24) and mm.min() >= 0 and mm.max() <= 1
    hard = mac_masks(c, soft=False)
    assert set(hard.unique().tolist()) <= {0., 1.}
    for beta in (0.01, 0.3, 0.5, 0.7, 1.0):
        k = int(beta * 20 * 24)
        for f in (fame_masks, gauss_masks, seed_masks, grid_masks):
            assert (f(c, beta).sum((1, 2)) == k).all(), (f.__name__, beta)
    flat = torch.full((2, 3, 4, 8, 8), 0.5)           # every score ties: still exactly ⌊β·H·W⌋ ones
    assert (fame_masks(flat, 0.3).sum((1, 2)) == int(0.3 * 64)).all()
    assert (topk_mask(torch.zeros(2, 5, 5), 0.5).sum((1, 2)) == 12).all()

def test_known_answers():
    static = torch.rand(1, 3, 1, 16, 16).expand(2, 3, 8, 16, 16).contiguous()
    assert mac_masks(static, soft=False).sum() == 0 and mac_masks(static).sum() == 0
    clip, gt = toy_clips(1, T=8, H=48, W=48, side=6, start=(20, 0), step=(0, 6), bg_value=0.2, fg_value=0.9)  # never overlaps itself
    mt = mask_metrics(mac_masks(clip, soft=False, dilate=False)[:, 1:], gt[:, 1:])
    assert mt['recall'].item() == 1.0
    fm = fame_masks(clip, beta=0.3)
    assert mask_metrics(fm, gt)['recall'].item() > 0.9   # the static mask covers the swept path

def test_hue_fix_changes_masks():
    c = _clip(4, h=32, w=32)
    assert not torch.equal(fame_scores(c, hue_fix=True), fame_scores(c, hue_fix=False))

def test_grid_generator_reproducible():
    c = _clip()
    g = lambda: torch.Generator().manual_seed(3)
    assert torch.equal(grid_masks(c, generator=g()), grid_masks(c, generator=g()))
    assert not torch.equal(grid_masks(c, generator=g()), grid_masks(c, generator=torch.Generator().manual_seed(4)))
