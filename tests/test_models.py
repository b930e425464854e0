"""Backbones and heads: registry, interface, torchvision compatibility, published MACs, bad input."""
import pytest
import torch
from torch import nn
from torchvision.models import video as tvv

from mac_fame_be.models import (create_backbone, list_backbones, register_backbone, _BACKBONES, count_macs,
                                to_torchvision_state_dict, from_torchvision_state_dict, ClipNormalize,
                                VideoBackbone, ProjectionHead, PretextHead, ClassifierHead)

ALL = ['c3d', 'i3d', 'mc3_18', 'plain3d', 'r21d_10', 'r2plus1d_18', 'r3d_18', 's3d', 'tiny3d']

def test_registry_lists_every_backbone():
    assert set(ALL) <= set(list_backbones())

@pytest.mark.parametrize('name', ALL)
def test_interface_on_meta(name):
    with torch.device('meta'):
        m = create_backbone(name)
        T, H, W = m.default_input
        x = torch.empty(2, 3, T, H, W)
        fmap, pooled = m.forward_features(x), m(x)
    assert isinstance(m, VideoBackbone)
    assert fmap.ndim == 5 and fmap.shape[:2] == (2, m.num_features)
    assert pooled.shape == (2, m.num_features)

@pytest.mark.parametrize('name,gmacs', [('r2plus1d_18', 40.5), ('r3d_18', 40.7), ('mc3_18', 43.3)])
def test_macs_match_torchvision_published(name, gmacs):
    with torch.device('meta'): m = create_backbone(name)
    assert abs(count_macs(m, (1, 3, 16, 112, 112)) / 1e9 - gmacs) <= 0.01 * gmacs

@pytest.mark.parametrize('name', ['r3d_18', 'mc3_18', 'r2plus1d_18'])
def test_state_dict_both_ways(name):
    torch.manual_seed(0)
    x = torch.rand(1, 3, 4, 32, 32)
    tv = getattr(tvv, name)(weights=None, num_classes=3).eval()
    ours = create_backbone(name).eval()
    ours.load_state_dict(from_torchvision_state_dict(tv.state_dict()))          # torchvision -> ours, strict
    with torch.no_grad():
        xn = ClipNormalize()(x)
        ref = torch.flatten(tv.avgpool(tv.layer4(tv.layer3(tv.layer2(tv.layer1(tv.stem(xn)))))), 1)
        torch.testing.assert_close(ours(x), ref)
        for p in ours.parameters(): p.add_(0.01 * torch.randn_like(p))          # make ours differ, then back
        fc = nn.Linear(ours.num_features, 3)
        tv.load_state_dict(to_torchvision_state_dict(ours, fc))                  # ours -> torchvision, strict
        torch.testing.assert_close(tv(xn), fc(ours(x)))
    # without an fc the only missing keys are torchvision's classifier
    missing = tv.load_state_dict(to_torchvision_state_dict(ours), strict=False).missing_keys
    assert sorted(missing) == ['fc.bias', 'fc.weight']

def test_s3d_state_dict_matches_torchvision_features():
    with torch.device('meta'):
        ours, tv = create_backbone('s3d'), tvv.s3d(weights=None)
    assert set(ours.state_dict()) == set(from_torchvision_state_dict(tv.state_dict()))

def test_s3d_refuses_small_inputs():
    m = create_backbone('s3d')
    with pytest.raises(ValueError, match='at least 14 frames of 224×224'):
        m(torch.rand(1, 3, 16, 112, 112))
    with torch.device('meta'), pytest.raises(ValueError, match='got T×H×W = 8×224×224'):
        create_backbone('s3d')(torch.empty(1, 3, 8, 224, 224))

def test_resnet_feature_map_is_512x2x7x7_without_maxpool():
    # MAC's R(2+1)D / R3D: no max-pool, 512×2×7×7 at 16×112². (MC3 keeps T: its later layers are 2D.)
    for name in ['r2plus1d_18', 'r3d_18', 'r21d_10']:
        with torch.device('meta'):
            m = create_backbone(name)
            assert m.forward_features(torch.empty(1, 3, 16, 112, 112)).shape == (1, 512, 2, 7, 7)
        assert not any(isinstance(l, nn.MaxPool3d) for l in m.modules())

def test_r21d_10_has_one_block_per_stage():
    m = create_backbone('r21d_10')
    assert [len(getattr(m, f'layer{i}')) for i in range(1, 5)] == [1, 1, 1, 1]

def test_normalize_option_and_custom_stats():
    m = create_backbone('tiny3d', normalize=False)
    assert isinstance(m.norm, nn.Identity)
    m = create_backbone('tiny3d', mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    torch.testing.assert_close(m.norm(torch.full((1, 3, 1, 2, 2), 0.75)), torch.ones(1, 3, 1, 2, 2))

def test_tiny3d_is_small_and_trains():
    m = create_backbone('tiny3d')
    assert 1e5 < sum(p.numel() for p in m.parameters()) < 1e6
    x = torch.rand(4, 3, 16, 64, 64)
    m(x).sum().backward()
    assert all(p.grad is not None for p in m.parameters())

def test_register_backbone_decorator():
    @register_backbone(name='_test_backbone')
    def factory(**kw): return create_backbone('tiny3d', **kw)
    try:
        assert '_test_backbone' in list_backbones()
        assert create_backbone('_test_backbone').num_features == 256
    finally:
        _BACKBONES.pop('_test_backbone')

def test_bad_input():
    with pytest.raises(ValueError, match="unknown backbone 'nope'"): create_backbone('nope')
    m = create_backbone('tiny3d')
    with pytest.raises(ValueError, match='B×C×T×H×W'): m(torch.rand(3, 16, 64, 64))
    with pytest.raises(ValueError, match='B×3×T×H×W'): m(torch.rand(1, 1, 16, 64, 64))
    with pytest.raises(ValueError, match='n_sub must be >= 1'): PretextHead(8, n_sub=0)

def test_heads():
    h = torch.randn(3, 16)
    torch.testing.assert_close(ProjectionHead(16, 32, 8)(h).norm(dim=1), torch.ones(3))
    assert PretextHead(16, k_alpha=3, n_sub=2)(h).shape == (3, 9)
    assert PretextHead(16, k_alpha=3, n_sub=2, joint=False)(h).shape == (3, 2, 3)
    head = ClassifierHead(16, 5, dropout=0.7).eval()
    torch.testing.assert_close(head(h), head.fc(h))
