"""Data faults as a user meets them: two processes generating the same SynthMotion folder, a damaged cache, list
files with mistakes, videos of another aspect ratio, videos that fail to decode at evaluation, worker errors."""
import json, shutil, subprocess, sys, textwrap, warnings, pytest, torch
from pathlib import Path
from conftest import write_test_video
from mac_fame_be.synth import make_synthmotion, check_synthmotion, read_synth_meta

TINY = dict(preset='small', size=32, n_frames=8, num_workers=1, progress=False)

def _gen_script(out):
    return textwrap.dedent(f"""
        from mac_fame_be.synth import make_synthmotion
        print(make_synthmotion({str(out)!r}, **{TINY!r}))""")

@pytest.mark.parametrize('trial', range(3))
def test_concurrent_synth_same_folder(tmp_path, trial):
    "Two processes generate the same dataset at once: both succeed with the same root, and the result verifies."
    out = tmp_path / 'data'
    procs = [subprocess.Popen([sys.executable, '-c', _gen_script(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    res = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    for rc, so, se in res: assert rc == 0, se[-3000:]
    roots = {so.strip().splitlines()[-1] for _, so, _ in res}
    assert len(roots) == 1, roots
    root = Path(roots.pop())
    assert check_synthmotion(root) == []
    meta = read_synth_meta(root)
    assert len(meta) == 48 and all((root / p).stat().st_size > 0 for p in meta.path)
    assert sorted(p.name for p in out.iterdir()) == [root.name, root.name + '.lock']   # no partial folder left

@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    return make_synthmotion(tmp_path_factory.mktemp('synth'), **TINY)

def _copy(root, tmp_path):
    dst = tmp_path / 'cache' / root.name
    shutil.copytree(root, dst)
    return dst

@pytest.mark.parametrize('damage', ['truncated', 'missing', 'interrupted'])
def test_damaged_cache_is_regenerated(tiny_root, tmp_path, damage):
    root = _copy(tiny_root, tmp_path)
    rel = read_synth_meta(root).path[3]
    good = (root / rel).read_bytes()
    if damage == 'truncated': (root / rel).write_bytes(good[:len(good) // 2])
    if damage == 'missing': (root / rel).unlink()
    if damage == 'interrupted':            # a run killed before its rename leaves a partial folder and no root
        (root / rel).unlink(); root.rename(root.with_name(root.name + '.partial'))
        (root.parent / (root.name + '.partial-abc123')).mkdir()
    assert check_synthmotion(root) != []
    if damage == 'interrupted': again = make_synthmotion(tmp_path / 'cache', **TINY)
    else:
        with pytest.warns(UserWarning, match='damaged dataset cache'): again = make_synthmotion(tmp_path / 'cache', **TINY)
    assert again == root and check_synthmotion(root) == [] and (root / rel).read_bytes() == good
    assert not list(root.parent.glob('*.partial*'))

def test_reuse_does_not_regenerate(tiny_root):
    before = (tiny_root / 'config.json').stat().st_mtime_ns
    assert make_synthmotion(tiny_root.parent, **TINY) == tiny_root
    assert (tiny_root / 'config.json').stat().st_mtime_ns == before

def test_damaged_root_given_directly_is_reported(tiny_root, tmp_path):
    from mac_fame_be.loaders import dataset_from_name
    root = _copy(tiny_root, tmp_path)
    assert len(dataset_from_name('synthmotion', root, in_memory=False)) == 16
    (root / read_synth_meta(root).path[0]).unlink()
    with pytest.raises(ValueError, match='damaged SynthMotion folder.*n_files'): dataset_from_name('synthmotion', root)

MFB = Path(sys.executable).parent / 'mfb'
def mfb(*args): return subprocess.run([str(MFB), *map(str, args)], capture_output=True, text=True, timeout=600)

def ucf_layout(root, odd=None):
    "A tiny UCF101 layout: 2 classes, 6 train and 2 test videos of 32×32; `odd`: (h, w) of one more train video."
    root.mkdir(parents=True, exist_ok=True); (root / 'classInd.txt').write_text('1 Jump\n2 Run\n')
    vids = [f'{c}/v_{c}_g{g:02d}_c01.avi' for c in ('Jump', 'Run') for g in range(1, 5)]
    for k, v in enumerate(vids): write_test_video(root / v, T=8, codec='mpeg4', seed=k)
    train, test = vids[:3] + vids[4:7], [vids[3], vids[7]]
    if odd is not None:
        write_test_video(root / 'Run/v_Run_g09_c01.avi', T=8, h=odd[0], w=odd[1], codec='mpeg4'); train.append('Run/v_Run_g09_c01.avi')
    (root / 'trainlist01.txt').write_text(''.join(f"{v} {1 + v.startswith('Run')}\n" for v in train))
    (root / 'testlist01.txt').write_text(''.join(f"{v}\n" for v in test))
    return root

def test_mixed_aspect_ratios_cli(tmp_path):
    "One 18×14 video among 32×32 ones: trains by default (short side, centre square); whole frames (--frame-crop 0): one clear line."
    root = ucf_layout(tmp_path / 'ucf', odd=(18, 14))
    args = ['linear', '--dataset', 'ucf101', '--root', root, '--epochs', '1', '--bs', '7', '--frames', '4', '--device', 'cpu']
    r = mfb(*args, '--out', tmp_path / 'd')
    assert r.returncode == 0, r.stderr[-2000:]
    r = mfb(*args, '--frame-crop', '0', '--out', tmp_path / 'a')
    assert r.returncode == 2 and 'clips of different sizes in one batch' in r.stderr and '--frame-crop' in r.stderr, r.stderr[-2000:]
    r = mfb(*args, '--frame-crop', '16', '--out', tmp_path / 'b')
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / 'b' / 'config.json').read_text())['frame_crop'] == 16

def test_duplicate_class_index_cli(tmp_path):
    "The reported case: `1 Extra` added to classInd.txt used to shift the labels silently; now one line naming file and line."
    root = ucf_layout(tmp_path / 'ucf')
    (root / 'classInd.txt').write_text('1 Jump\n2 Run\n1 Extra\n')
    r = mfb('linear', '--dataset', 'ucf101', '--root', root, '--epochs', '1', '--bs', '2', '--frames', '4', '--device', 'cpu',
            '--out', tmp_path / 'o')
    lines = [l for l in r.stderr.splitlines() if l.strip() and 'Warning' not in l]
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-2000:]
    assert "classInd.txt, line 3: index 1 is already used on line 1 ('Jump')" in lines[0]

def test_hmdb51_split_file_mistakes(tmp_path):
    from mac_fame_be.data import HMDB51
    for c in ['brush_hair', 'cartwheel']:
        for k in range(2): write_test_video(tmp_path / c / f'{c} {k}.avi', codec='mpeg4', seed=k)   # names with a space
        (tmp_path / f'{c}_test_split1.txt').write_text(f'{c} 0.avi 1 \n{c} 1.avi 2 \n')
    assert [p.name for p, _ in HMDB51(tmp_path, subset='test').items] == ['brush_hair 1.avi', 'cartwheel 1.avi']
    (tmp_path / 'cartwheel_test_split1.txt').write_text('cartwheel 0.avi 1\ncartwheel 1.avi 12\n')
    with pytest.raises(ValueError, match=r"cartwheel_test_split1.txt, line 2: expected 'video.avi 0\|1\|2'"): HMDB51(tmp_path)
    (tmp_path / 'cartwheel_test_split1.txt').write_text('\n')
    with pytest.raises(ValueError, match='cartwheel_test_split1.txt: the file is empty'): HMDB51(tmp_path)

def test_failed_test_video_is_left_out_cli(tmp_path):
    "A 0-byte test video used to be replaced by its neighbour and counted as evaluated; now it is left out and reported."
    root = ucf_layout(tmp_path / 'ucf')
    (root / 'Run/v_Run_g04_c01.avi').write_bytes(b'')
    r = mfb('linear', '--dataset', 'ucf101', '--root', root, '--epochs', '1', '--bs', '2', '--frames', '4', '--device', 'cpu',
            '--out', tmp_path / 'o')
    assert r.returncode == 0, r.stderr[-2000:]
    assert '(1 videos × 10 clips evaluated, 1 videos skipped)' in r.stdout, r.stdout[-2000:]
    saved = torch.load(tmp_path / 'o' / 'test_logits.pt')
    assert saved['logits'].shape[0] == 1 and saved['videos'] == [str(root / 'Jump/v_Jump_g04_c01.avi')]

def test_worker_error_names_the_file(tmp_path):
    "An error in a loader worker used to read only 'Caught VideoError in DataLoader worker process 0'."
    from mac_fame_be.data import VideoClipDataset
    from mac_fame_be.loaders import video_dls
    from mac_fame_be.video import VideoError
    items = [(write_test_video(tmp_path / f'v{k}.mp4', seed=k), k % 2) for k in range(2)]
    (tmp_path / 'v1.mp4').write_bytes(b'garbage' * 50)
    dl = video_dls(VideoClipDataset(items, n_frames=4, on_error='raise'), bs=2, num_workers=1, shuffle=False).train
    with pytest.raises(VideoError) as e: next(iter(dl))   # (one_batch loads in the main process)
    first = str(e.value).splitlines()[0]
    assert 'v1.mp4: cannot open as a video' in first and first.endswith('(in DataLoader worker process 0)'), first

# --- issue 25 §4: entries stay inside the root; every annotation problem names file and line -----------------------------
def _ucf(root, lines, classes='1 A\n2 B\n'):
    from conftest import write_test_video
    root.mkdir(parents=True, exist_ok=True); (root/'classInd.txt').write_text(classes)
    write_test_video(root/'A'/'v_A_g01_c01.avi', T=8, codec='mpeg4')
    (root/'trainlist01.txt').write_text(''.join(l + '\n' for l in lines))

def test_entries_outside_the_root_refused(tmp_path):
    import os
    from mac_fame_be.data import UCF101
    root = tmp_path/'ucf'; _ucf(root, ['A/v_A_g01_c01.avi 1'])
    (tmp_path/'outside.avi').write_bytes(b'x' * 100)
    os.symlink('/etc/passwd', root/'A'/'passwd.avi')
    for k, entry in enumerate(['../outside.avi 1', f'{tmp_path}/outside.avi 1', 'A/passwd.avi 1']):
        (root/'trainlist01.txt').write_text(f'A/v_A_g01_c01.avi 1\n{entry}\n')
        with pytest.raises(ValueError, match=r'trainlist01.txt, line 2: .*outside the dataset root'): UCF101(root, on_missing='skip')
    ds = UCF101(root, on_missing='skip', allow_outside=True)   # explicitly allowed
    assert len(ds.items) == 2
    (root/'trainlist01.txt').write_text(f'{root}/A/v_A_g01_c01.avi 1\n')   # absolute, inside the root: fine
    assert len(UCF101(root).items) == 1

def test_annotation_problems_name_file_and_line(tmp_path):
    import json
    from mac_fame_be.data import Diving48, Kinetics400, UCF101
    d = tmp_path/'d48'; d.mkdir(); (d/'Diving48_vocab.json').write_text('[["a"], ["b"]]')
    (d/'Diving48_V2_train.json').write_text(json.dumps([{'vid_name': 'x', 'label': 0}, {'vid_name': 'y'}]))
    with pytest.raises(ValueError, match=r"Diving48_V2_train.json, entry 1 .*'label'"): Diving48(d, on_missing='skip')
    (d/'Diving48_V2_train.json').write_text('[{"vid_name": "x", "label": 0},\n {"vid_name" "y"}]')
    with pytest.raises(ValueError, match=r'Diving48_V2_train.json, line 2: invalid JSON'): Diving48(d, on_missing='skip')
    k = tmp_path/'k'; k.mkdir()
    head = 'label,youtube_id,time_start,time_end,split\n'
    (k/'train.csv').write_text(head + 'a,aaa,10,20,train\nb,bbb\n')
    with pytest.raises(ValueError, match=r'train.csv, line 3: expected label'): Kinetics400(k)
    (k/'train.csv').write_text(head + 'a,aaa,10,20,train\nb,bbb,ten,20,train\n')
    with pytest.raises(ValueError, match=r"train.csv, line 3: time_start and time_end must be numbers, got 'ten'"): Kinetics400(k)
    (k/'train.csv').write_text(head + 'a,aaa,10,20,train\na ,bbb,10,20,train\n')
    for yt in ('aaa', 'bbb'): (k/'train'/'a').mkdir(parents=True, exist_ok=True); (k/'train'/'a'/f'{yt}_000010_000020.mp4').write_bytes(b'x')
    assert Kinetics400(k).classes == ['a']   # a trailing space is no new class
    u = tmp_path/'ucf'; _ucf(u, ['A/v_A_g01_c01.avi 1'])
    with pytest.warns(UserWarning, match=r"trainlist01.txt: 1 of the 2 classes have no training video: 'B'"): UCF101(u)

def test_info_on_ucf101_with_an_unrelated_meta_csv(tmp_path, capsys):
    from mac_fame_be.cli import main
    u = tmp_path/'ucf'; _ucf(u, ['A/v_A_g01_c01.avi 1'])
    (u/'meta.csv').write_text('video,fps\nA/v_A_g01_c01.avi,25\n')
    assert main(['info', str(u)]) == 0
    assert 'UCF101' in capsys.readouterr().out

# --- issue 25 §5: library misuse a notebook user makes ------------------------------------------------------------------
def test_clip_values_checked():
    "A forgotten /255, NaN or Inf pixels: refused by masks, augmentation and backbones, naming the range; float64 works."
    from mac_fame_be.masks import mac_masks, fame_masks
    from mac_fame_be.transforms import VideoAugment
    from mac_fame_be.models import create_backbone
    g = torch.Generator().manual_seed(0)
    clip = torch.rand(2, 3, 8, 32, 32, generator=g)
    net = create_backbone('tiny3d')
    users = [('mac_masks', mac_masks), ('fame_masks', fame_masks), ('VideoAugment', VideoAugment(crop=16)), ('backbone', net)]
    for name, f in users: f(clip)   # a clip in [0, 1] passes
    for name, f in users:
        with pytest.raises(ValueError, match=r'values span \[0\.?\d*, 25\d\]: expected floats in \[0, 1\]'): f(clip * 255)
        for v in (float('nan'), float('inf')):
            bad = clip.clone(); bad[1, 0, 3, 5, 5] = v
            with pytest.raises(ValueError, match=r'1 NaN or Inf values'): f(bad)
    assert net(clip.double()).shape == (2, net.num_features)   # float64 (from numpy): converted, not a dtype error

def test_be_inter_needs_two_clips():
    from mac_fame_be.augment import be_distract
    x = torch.rand(1, 3, 4, 8, 8)
    for v in ('inter', 'mixup', 'cutmix'):
        with pytest.raises(ValueError, match=rf"be_variant='{v}'.*batch size 1"): be_distract(x, variant=v)
    assert be_distract(x, variant='intra').shape == x.shape

def test_augment_options_checked():
    from mac_fame_be.transforms import VideoAugment, check_crop_fits
    with pytest.raises(ValueError, match=r'scale must be a pair \(lo, hi\) of numbers, got \(0.5,\)'): VideoAugment(scale=(0.5,))
    with pytest.raises(ValueError, match=r'crop=1000 is larger than the frames. short side \(32 pixels\)'): check_crop_fits(1000, 32)
    check_crop_fits(32, 32)

def test_list_files_whatever_tool_saved_them(tmp_path):
    "A BOM, CRLF line endings, UTF-16 (Windows tools) read as they are; bytes that are not UTF-8 name the file and line."
    from mac_fame_be.data import UCF101, Kinetics400
    root = tmp_path/'ucf'; _ucf(root, ['A/v_A_g01_c01.avi 1'], classes='1 A\n')
    for enc, text in [('utf-8-sig', '1 A\r\n'), ('utf-16', '1 A\n')]:
        (root/'classInd.txt').write_bytes(text.encode(enc))
        assert UCF101(root).classes == ['A'], enc
    (root/'trainlist01.txt').write_bytes(b'A/v_A_g01_c01.avi 1\nA/caf\xe9.avi 1\n')   # Latin-1
    with pytest.raises(ValueError, match=r'trainlist01.txt, line 2: not UTF-8 text'): UCF101(root)
    k = tmp_path/'k'; k.mkdir(); (k/'train'/'a').mkdir(parents=True); (k/'train'/'a'/'aaa_000010_000020.mp4').write_bytes(b'x')
    (k/'train.csv').write_bytes('label,youtube_id,time_start,time_end,split\r\na,aaa,10,20,train\r\n'.encode('utf-8-sig'))
    assert Kinetics400(k).classes == ['a']
