"Bad input, reproducibility and integration checks for mac_fame_be.augment (the known answers live in nbs/04_augment.ipynb)."
import pytest
import torch
from mac_fame_be.transforms import VideoAugment, probe_augment, center_crop, rrc_boxes
from mac_fame_be.augment import (alpha_values, alpha_from_index, mac_blend, MACAugment, decode_alpha_target,
    encode_alpha_target, derangement, fame_merge, FAMEAugment, be_distract)
from mac_fame_be.masks import mac_masks


def clips(B=4, T=8, S=32, seed=0):
    return torch.rand(B, 3, T, S, S, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('kw, msg', [(dict(flip_p=1.5), 'flip_p must be in [0, 1], got 1.5'),
                                     (dict(gray_p=-0.1), 'gray_p must be in [0, 1]'),
                                     (dict(crop=0), 'crop must be a positive int'),
                                     (dict(scale=(0.5, 0.2)), 'scale must satisfy'),
                                     (dict(blur_kernel=4), 'blur_kernel must be a positive odd int'),
                                     (dict(jitter=(0.4, 0.4, 0.4, 0.7)), 'jitter must be 4 non-negative values'),
                                     (dict(blur_sigma=(0., 2.)), 'blur_sigma must satisfy')])
def test_video_augment_bad_args(kw, msg):
    with pytest.raises(ValueError, match=msg.replace('[', r'\[').replace(']', r'\]').replace('(', r'\(').replace(')', r'\)')):
        VideoAugment(**kw)


@pytest.mark.parametrize('fn', [lambda x: VideoAugment(crop=16)(x), lambda x: mac_blend(x, torch.zeros(x.shape[0], *x.shape[2:]), 0.5),
                                lambda x: be_distract(x), lambda x: FAMEAugment()(x), lambda x: MACAugment()(x),
                                lambda x: center_crop(x, 16)])
@pytest.mark.parametrize('bad', [torch.rand(2, 3, 32, 32), torch.rand(2, 1, 4, 32, 32), torch.randint(0, 255, (2, 3, 4, 32, 32))])
def test_bad_clip(fn, bad):
    with pytest.raises(ValueError, match='clip must'):
        fn(bad)


def test_generator_reproducible_and_range():
    x = clips()
    aug = VideoAugment(crop=24)
    a = aug(x, generator=torch.Generator().manual_seed(5))
    b = aug(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.shape == (4, 3, 8, 24, 24)
    assert a.min() >= 0 and a.max() <= 1 + 1e-6
    c = aug(x, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(a, c)
    m1, t1 = MACAugment()(x, generator=torch.Generator().manual_seed(1))
    m2, t2 = MACAugment()(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(m1, m2) and torch.equal(t1.joint, t2.joint)
    assert torch.equal(be_distract(x, generator=torch.Generator().manual_seed(2)),
                       be_distract(x, generator=torch.Generator().manual_seed(2)))


def test_video_augment_non_square_and_probe():
    x = torch.rand(3, 3, 4, 30, 50)
    assert VideoAugment(crop=(20, 28))(x).shape == (3, 3, 4, 20, 28)
    p = probe_augment(crop=20, flip_p=0.)
    still = torch.rand(3, 3, 1, 30, 50).repeat(1, 1, 4, 1, 1)
    y = p(still)
    assert torch.allclose(y, y[:, :, :1].expand_as(y), atol=1e-6)
    assert torch.allclose(y, y.clamp(0, 1))


def test_rrc_fallback_to_centre():
    b = rrc_boxes(5, 10, 100, scale=(1., 1.), ratio=(1., 1.))       # no square of area 1000 fits in 10×100
    w, h = b[:, 2] - b[:, 0] + 1, b[:, 3] - b[:, 1] + 1
    assert torch.equal(h, torch.full((5,), 10.)) and torch.equal(w, torch.full((5,), 10.))
    assert torch.equal(b[:, 0], torch.full((5,), 45.))


def test_mac_bad_input():
    x = clips()
    with pytest.raises(ValueError, match='alpha must be a number or have shape'):
        mac_blend(x, torch.zeros(4, 8, 32, 32), torch.rand(3))
    with pytest.raises(ValueError, match='alpha must be in'):
        mac_blend(x, torch.zeros(4, 8, 32, 32), torch.full((4,), 2.))
    with pytest.raises(ValueError, match='blend_space must be one of'):
        mac_blend(x, torch.zeros(4, 8, 32, 32), 0.5, blend_space='lab')
    with pytest.raises(ValueError, match='n_sub must be an int >= 1'):
        MACAugment(n_sub=0)
    with pytest.raises(ValueError, match='lam must be in'):
        MACAugment(lam=30)
    with pytest.raises(ValueError, match='joint must be in'):
        decode_alpha_target(torch.tensor([-1]), 4, 1)


@pytest.mark.parametrize('n_sub', [1, 2, 4])
def test_mac_augment_targets(n_sub):
    x = clips(B=6)
    out, tg = MACAugment(n_sub=n_sub, alpha_jitter=True)(x, generator=torch.Generator().manual_seed(0))
    assert tg.per_sub.shape == (6, n_sub) and tg.joint.max() < 4 ** n_sub
    idx, _ = decode_alpha_target(tg.joint, 4, n_sub)
    assert torch.equal(idx, tg.per_sub) and torch.equal(encode_alpha_target(idx, 4), tg.joint)
    lo, hi = tg.per_sub / 3, (tg.per_sub + 1) / 3                       # jittered α lies inside its bin
    assert ((tg.alpha >= lo) & ((tg.alpha <= hi) | (tg.per_sub == 3))).all()
    expected = mac_blend(x, mac_masks(x), tg.alpha.repeat_interleave(8 // n_sub, 1))
    assert torch.allclose(out, expected)


def test_fame_bad_input_and_pairing():
    x = clips()
    for kw, msg in [(dict(pairing='shift'), 'pairing must be one of'), (dict(background='other'), 'background must be one of'),
                    (dict(mask='box'), 'mask must be one of'), (dict(beta=0.), r'beta must be in \(0, 1\]')]:
        with pytest.raises(ValueError, match=msg):
            FAMEAugment(**kw)
    with pytest.raises(ValueError, match='n must be an int >= 2'):
        derangement(0)
    with pytest.raises(ValueError, match='masks must have shape'):
        fame_merge(x, torch.ones(4, 31, 32))
    with pytest.raises(ValueError, match='perm must have shape'):
        fame_merge(x, torch.ones(4, 32, 32), perm=torch.arange(3))
    with pytest.raises(ValueError, match="bg_clip must have the clip's shape"):
        fame_merge(x, torch.ones(4, 32, 32), bg_clip=x[:2])
    assert FAMEAugment(pairing='randperm')(x[:1]).shape == (1, 3, 8, 32, 32)   # randperm: a batch of one pairs with itself
    other = clips(seed=1)
    out = FAMEAugment(background='intra')(x, bg_clip=other, masks=torch.zeros(4, 32, 32))
    assert torch.equal(out, other)


def test_be_bad_input_and_variants():
    x = clips()
    with pytest.raises(ValueError, match='frame_idx must be'):
        be_distract(x, frame_idx=8)
    with pytest.raises(ValueError, match='be_lam must be'):
        be_distract(x, be_lam=torch.rand(3))
    with pytest.raises(ValueError, match='be_lam must be in'):
        be_distract(x, be_lam=1.5)
    g = torch.Generator().manual_seed(0)
    for v in ('intra', 'inter', 'noise', 'mixup', 'cutmix'):
        y = be_distract(x, gamma=0.3, variant=v, generator=g)
        assert y.shape == x.shape and not torch.equal(y, x)
    y = be_distract(x, be_lam=0.3, frame_idx=torch.tensor([0, 1, 2, 3]))
    d = y - 0.7 * x                                                     # the added part is static over time
    assert torch.allclose(d, d[:, :, :1].expand_as(d), atol=1e-6)


def test_float64_and_alpha_values():
    x = clips().double()
    assert mac_blend(x, torch.rand(4, 8, 32, 32, dtype=torch.float64), 0.5).dtype == torch.float64
    assert be_distract(x).dtype == torch.float64
    assert VideoAugment(crop=16)(x).dtype == torch.float64
    assert torch.allclose(alpha_values(3), torch.tensor([0.25, 0.75, 1.]))
    assert torch.equal(alpha_from_index(torch.tensor([[0, 3]])), alpha_values(4)[torch.tensor([[0, 3]])])


def test_mac_augment_has_one_name_for_alpha_jitter():
    "`alpha_jitter` is the only spelling (`jitter` is VideoAugment's colour jitter): the old keyword is refused."
    with pytest.raises(TypeError, match='jitter'): MACAugment(jitter=True)
    assert MACAugment(alpha_jitter=True).alpha_jitter is True
