"Integration and bad-input tests for `mac_fame_be.evaluate` and `mac_fame_be.cam` (fast, CPU)."
import matplotlib
matplotlib.use('Agg')
import pytest, torch
from torch import nn
from mac_fame_be.evaluate import (extract_features, recognition_accuracy, confusion_matrix, plot_confusion, recall_at_k,
                                  knn_accuracy, knn_predict, neighbour_agreement, show_retrieval, frame_strip)
from mac_fame_be.transforms import center_crop
from mac_fame_be.cam import class_activation_map, grad_cam, show_cams, overlay_cam, mass_in_mask
from mac_fame_be.models import create_backbone, ClassifierHead


class UniformToy(torch.utils.data.Dataset):
    "Items like a `mode='uniform'` dataset: (uint8 clips N×C×T×H×W, label)."
    mode = 'uniform'
    def __init__(self, n_videos=6, n_clips=3, shape=(3, 4, 16, 16), seed=0):
        g = torch.Generator().manual_seed(seed)
        self.clips = torch.randint(0, 256, (n_videos, n_clips, *shape), dtype=torch.uint8, generator=g)
        self.labels = torch.arange(n_videos) % 3
    def __len__(self): return len(self.clips)
    def __getitem__(self, i): return self.clips[i], int(self.labels[i])


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    return create_backbone('tiny3d')


def test_extract_features_dataset_and_loader_agree(tiny):
    ds = UniformToy()
    tiny.train()
    f, y, cf = extract_features(tiny, ds, n_clips=3, bs=4, return_clips=True)
    assert tiny.training, "extract_features must restore the model's mode"
    assert f.shape == (6, tiny.num_features) and cf.shape == (6, 3, tiny.num_features)
    assert torch.equal(y, ds.labels)
    dl = torch.utils.data.DataLoader(ds, batch_size=5)
    f2, y2 = extract_features(tiny, dl, n_clips=3)
    torch.testing.assert_close(f, f2, atol=1e-5, rtol=1e-4)
    assert torch.equal(y, y2)
    # float input gives the same as uint8 / 255
    f3, _ = extract_features(tiny, iter([(ds.clips.float() / 255, ds.labels)]), n_clips=3)  # an iterable of batches
    torch.testing.assert_close(f, f3, atol=1e-5, rtol=1e-4)
    # each video's feature is the mean of its clips' features, computed one clip at a time
    with torch.no_grad():
        tiny.eval(); one = tiny(ds.clips[2].float() / 255).mean(0); tiny.train()
    torch.testing.assert_close(f[2], one, atol=1e-5, rtol=1e-4)


def test_extract_features_transform_and_classifier(tiny):
    ds = UniformToy(n_videos=4, shape=(3, 4, 20, 20))
    crop = lambda x: center_crop(x, 16, resize=0)
    model = nn.Sequential(tiny, ClassifierHead(tiny.num_features, 3))
    f, y, logits = extract_features(model, ds, n_clips=3, transform=crop, return_clips=True)
    assert logits.shape == (4, 3, 3)
    acc = recognition_accuracy(logits, y)
    assert set(acc) == {'clip_top1', 'video_top1'} and all(0 <= v <= 1 for v in acc.values())


def test_extract_features_bad_input(tiny):
    ds = UniformToy()
    with pytest.raises(ValueError, match='n_clips=10'): extract_features(tiny, ds, n_clips=10)
    ds.mode = 'clip'
    with pytest.raises(ValueError, match="'clip'"): extract_features(tiny, ds)
    with pytest.raises(ValueError, match='empty'): extract_features(tiny, [], n_clips=None)
    with pytest.raises(ValueError, match='clips, labels'): extract_features(tiny, iter([torch.zeros(2)]), n_clips=None)
    with pytest.raises(ValueError, match='B×N×C×T×H×W'):
        extract_features(tiny, iter([(torch.zeros(2, 3, 4, 4), torch.zeros(2))]), n_clips=None)


def test_metrics_bad_input_and_edges():
    q, g = torch.eye(3), torch.eye(3)
    y = torch.arange(3)
    # k larger than the gallery is clipped: every query finds its class among all 3
    assert recall_at_k(q, y, g, torch.tensor([2, 0, 1]), ks=(1, 50)) == {1: 0.0, 50: 1.0}
    with pytest.raises(ValueError, match='same D'): recall_at_k(q, y, torch.eye(4), torch.arange(4))
    with pytest.raises(ValueError, match='gallery_labels'): recall_at_k(q, y, g, torch.arange(2))
    with pytest.raises(ValueError, match='tau'): knn_predict(g, y, q, tau=0)
    with pytest.raises(ValueError, match="'median'"): knn_accuracy(g, y, q, y, weighting='median')
    with pytest.raises(ValueError, match='labels must be in'): confusion_matrix(torch.tensor([0]), torch.tensor([-1]), 2)
    with pytest.raises(ValueError, match='same number'): confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 2)
    with pytest.raises(ValueError, match='V×N×K'): recognition_accuracy(torch.zeros(3, 4), y)
    with pytest.raises(ValueError, match='crop must be a positive int'): center_crop(torch.zeros(1, 3, 2, 8, 8), 0, resize=0)
    assert center_crop(torch.zeros(1, 3, 2, 8, 10), 8, resize=0).shape == (1, 3, 2, 8, 8)
    assert neighbour_agreement(q, y, g, y, k=1, query_bg=y, gallery_bg=y) == dict(same_class=1.0, same_bg=1.0)


def test_plots_save(tmp_path, tiny):
    ds = UniformToy()
    f, y = extract_features(tiny, ds, n_clips=3)
    fig = show_retrieval(f, f, ds, ds, y, y, queries=(0, 1), k=8, query_bg=y.tolist(), gallery_bg=y.tolist(),
                         classes=['a', 'b', 'c'], n_frames=2)
    assert len(fig.axes) == 2 * (6 + 1)  # k=8 clipped to the 6 gallery videos, plus the query
    fig.savefig(tmp_path / 'retrieval.png')
    ax = plot_confusion(confusion_matrix(torch.tensor([0, 1, 2]), y[:3], 3))
    ax.figure.savefig(tmp_path / 'cm.png')
    assert (tmp_path / 'retrieval.png').stat().st_size > 0 and (tmp_path / 'cm.png').stat().st_size > 0
    with pytest.raises(ValueError, match='queries'): show_retrieval(f, f, ds, ds, y, y, queries=())
    with pytest.raises(ValueError, match='C×T×H×W'): frame_strip(torch.zeros(3, 4, 4))


def test_cam_on_tiny3d_frozen(tmp_path, tiny):
    torch.manual_seed(0)
    head = ClassifierHead(tiny.num_features, 4).eval()
    tiny.eval()
    for p in tiny.parameters(): p.requires_grad_(False)
    try:
        x = torch.rand(2, 3, 8, 32, 32)
        cams, tgt = class_activation_map(tiny, head, x)
        gcams, gtgt = grad_cam(tiny, head, x)
        assert cams.shape == gcams.shape == (2, 8, 32, 32)
        assert torch.equal(tgt, gtgt) and torch.equal(tgt, head(tiny(x)).argmax(1))
        for m in (cams, gcams): assert m.min() >= 0 and m.max() <= 1
        # Grad-CAM through the ClassifierHead (dropout + linear, mean pooling) equals CAM's positive part
        torch.testing.assert_close(gcams, class_activation_map(tiny, head, x, relu=True)[0], atol=1e-4, rtol=1e-4)
        assert all(p.grad is None for p in tiny.parameters())
        fig = show_cams(x, {'cam': (cams, tgt), 'grad-cam': gcams}, labels=[0, 1], n_frames=2)
        fig.savefig(tmp_path / 'cams.png')
        with pytest.raises(ValueError, match='maps of'): show_cams(x, {'bad': cams[:, :4]})
        with pytest.raises(ValueError, match='empty'): show_cams(x, {})
        with pytest.raises(ValueError, match='alpha'): overlay_cam(x[0], cams[0], alpha=2)
        with pytest.raises(ValueError, match='contain one'): class_activation_map(tiny, nn.ReLU(), x)
        with pytest.raises(ValueError, match='same shape'): mass_in_mask(cams, cams[:, :4] > 0.5)
        share = mass_in_mask(gcams, gcams > 0.5)
        assert share.shape == (2,) and ((share > 0) & (share <= 1)).all()
    finally:
        for p in tiny.parameters(): p.requires_grad_(True)


def test_predict_clips_is_the_protocol():
    "`predict_clips` = per-clip logits of the centre crop that resizes the short side (`transforms.center_crop`), on the CPU."
    from mac_fame_be.evaluate import predict_clips
    from mac_fame_be.transforms import center_crop
    ds = UniformToy(n_videos=5, n_clips=2, shape=(3, 4, 20, 24))   # frames larger than the crop: it resizes, then cuts
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 12 * 12, 3))
    logits, labels, kept = predict_clips(model, ds, bs=2, crop=12, return_index=True)
    want = model(center_crop(ds.clips.flatten(0, 1).float() / 255, 12)).view(5, 2, 3)
    torch.testing.assert_close(logits, want.detach(), rtol=0, atol=0)
    assert labels.tolist() == ds.labels.tolist() and kept.tolist() == list(range(5)) and logits.device.type == 'cpu'


def test_evaluate_needs_no_fastai():
    """Evaluation comes before finetuning and imports no fastai (so `finetune` and `benchmark` can both call it);
    fastcore (`@patch` in `data` and `transforms`) is a light runtime requirement and may be imported."""
    import subprocess, sys
    code = "import sys, mac_fame_be.evaluate; print(sorted({m.split('.')[0] for m in sys.modules} & {'fastai'}))"
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip() == '[]'
