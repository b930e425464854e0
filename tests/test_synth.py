"SynthMotion integration tests: files on disk, determinism across generations and worker counts, bad input."
import filecmp, json, sys
from pathlib import Path
import numpy as np, pytest, torch
from mac_fame_be import synth
from mac_fame_be.scenes import SPLITS, MOTION_CLASSES, SynthConfig, render_clip, SYNTH_FLIP_OK
from mac_fame_be.synth import make_synthmotion, load_fg_mask, synth_summary, synth_pairing, read_synth_meta
from mac_fame_be.video import read_clip

TINY = dict(preset='small', size=32, n_frames=16, progress=False)

def _lists(root): return sorted(p.name for p in root.glob('*list01.txt'))

@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    d = tmp_path_factory.mktemp('synth')
    return make_synthmotion(d / 'a', num_workers=2, **TINY), make_synthmotion(d / 'b', num_workers=1, **TINY)

def test_layout_and_lists(roots):
    root, _ = roots
    assert root.name.startswith('synthmotion-') and (root / 'config.json').exists()
    assert _lists(root) == sorted([f"{s}list01.txt" for s in SPLITS] + ['testlist01.txt'])
    classes = [l.split()[1] for l in (root / 'classInd.txt').read_text().splitlines()]
    assert classes == list(MOTION_CLASSES[:8])
    n = dict(train=16, train_unbiased=8, test_iid=8, test_swapped=8, test_static=8)
    for split in SPLITS:   # every listed video exists, its class folder matches its 1-based label, its mask is there
        lines = (root / f"{split}list01.txt").read_text().splitlines()
        assert len(lines) == n[split]
        for line in lines:
            rel, lab = line.split()
            assert rel.split('/')[0] == classes[int(lab) - 1]
            assert (root / rel).stat().st_size > 0 and (root / rel).with_suffix('.npz').exists()
    assert (root / 'testlist01.txt').read_text().split() == [l.split()[0] for l in (root / 'test_iidlist01.txt').read_text().splitlines()]
    assert json.loads((root / 'config.json').read_text())['config']['size'] == 32

def test_decodes_and_masks(roots):
    root, _ = roots
    meta = read_synth_meta(root)
    for rel in meta.path[::6]:
        clip, m = read_clip(root / rel, range(16)), load_fg_mask(root, rel)
        assert clip.shape == (16, 32, 32, 3) and m.shape == (16, 32, 32) and m.dtype == torch.bool
        area = m.float().mean((1, 2))
        assert (area > 0.01).all() and (area < 0.35).all()
        # the object is where the mask says: inside and outside differ in colour
        assert (clip[m].float().mean(0) - clip[~m].float().mean(0)).abs().max() > 10

def test_pairing(roots):
    root, _ = roots
    s = synth_summary(root)
    assert s.loc['test_swapped', 'own_family'] == 0 and s.loc['test_static', 'own_family'] == 1
    assert s.loc['train', 'own_family'] >= 0.8 and (s['classes'] == 8).all()
    assert synth_pairing(root, 'test_static').values.trace() == 8
    with pytest.raises(ValueError, match='nosplit'): synth_pairing(root, 'nosplit')

def assert_same_lists(a, b):
    """Two generations agree on every list file, meta.csv and config.json's configuration. The manifest in config.json
    records each folder's own byte sizes, which differ when x264 writes other bytes for the same frames (see below)."""
    for f in [p.name for p in a.glob('*.txt')] + ['meta.csv']:
        assert filecmp.cmp(a / f, b / f, shallow=False), f
    ca, cb = (json.loads((r / 'config.json').read_text()) for r in (a, b))
    assert {k: v for k, v in ca.items() if k != 'files'} == {k: v for k, v in cb.items() if k != 'files'}
    assert ca['files']['n_files'] == cb['files']['n_files']

def test_deterministic(roots):
    a, b = roots
    assert a.name == b.name   # same config and seed: same key, whatever the workers
    assert_same_lists(a, b)
    for rel in read_synth_meta(a).path:
        assert torch.equal(load_fg_mask(a, rel), load_fg_mask(b, rel))
        x, y = read_clip(a / rel, range(16)), read_clip(b / rel, range(16))
        # H.264 encoding through PyAV has been seen to give different bytes for identical input frames now and then
        # (x264 itself runs single-threaded): decoded frames are compared up to the codec's error
        assert (x.float() - y.float()).abs().mean() < 4, rel

def test_decoded_matches_rendered(roots):
    root, _ = roots
    meta = read_synth_meta(root)
    cfg = synth.synth_config(preset='small', size=32, n_frames=16)
    for i in range(0, 40, 5):   # moving videos (test_static rows come last)
        si, k = SPLITS.index(meta.split[i]), int((meta.split[:i] == meta.split[i]).sum())
        ref, ref_m, _ = synth._render(int(meta.label[i]), int(meta.bg_family_index[i]), cfg,
                                      np.random.default_rng([0, si, 1, k]), static=bool(meta.static[i]))
        assert torch.equal(load_fg_mask(root, meta.path[i]), torch.from_numpy(ref_m))
        # 4×4 means: H.264 with 4:2:0 chroma loses fine patterns on 32² frames, the coarse picture must match
        pool = lambda x: torch.nn.functional.avg_pool2d(torch.as_tensor(x).float().permute(0, 3, 1, 2), 4)
        dec, ref = pool(read_clip(root / meta.path[i], range(16))), pool(ref)
        err, other = (dec - ref).abs().mean(), (dec - ref.roll(1, 0)).abs().mean()   # other: one frame off
        assert err < 8 and err < other, (err, other)

def test_render_deterministic():
    cfg = SynthConfig(appearance='random', n_classes=10, n_families=10)
    for c in range(10):
        x, m = render_clip(c, bg_family=9 - c, seed=c, config=cfg)
        y, n = render_clip(c, bg_family=9 - c, seed=c, config=cfg)
        assert torch.equal(x, y) and torch.equal(m, n)

def test_cache_and_seed(tmp_path):
    n_threads = torch.get_num_threads()
    r1 = make_synthmotion(tmp_path, num_workers=1, **TINY)
    assert torch.get_num_threads() == n_threads          # generating in-process leaves the caller's torch settings alone
    stamp = (r1 / 'meta.csv').stat().st_mtime_ns
    assert make_synthmotion(tmp_path, **TINY) == r1 and (r1 / 'meta.csv').stat().st_mtime_ns == stamp   # reused
    r2 = make_synthmotion(tmp_path, seed=1, **TINY)
    rel = read_synth_meta(r1).path[0]
    assert r2 != r1 and rel == read_synth_meta(r2).path[0]   # same names, other videos
    assert not torch.equal(load_fg_mask(r1, rel), load_fg_mask(r2, rel))

def test_static_clip_constant():
    clip, m = render_clip('CircleCCW', seed=3, static=True)
    assert (clip == clip[:1]).all() and (m == m[:1]).all()
    moving, _ = render_clip('CircleCCW', seed=3)
    assert not (moving == moving[:1]).all()

def test_ucf101_reads_it(roots):
    data = pytest.importorskip('mac_fame_be.data')
    if not hasattr(data, 'UCF101'): pytest.skip('mac_fame_be.data.UCF101 does not exist yet')
    root, _ = roots
    ds = data.UCF101(root, subset='test_swapped')
    assert len(ds.items) == 8 and list(ds.classes) == list(MOTION_CLASSES[:8])
    assert sorted(l for _, l in ds.items) == list(range(8))

def test_bad_input(tmp_path):
    assert SYNTH_FLIP_OK is False
    with pytest.raises(ValueError, match='p_bias'): SynthConfig(p_bias=2)
    with pytest.raises(ValueError, match='n_classes'): SynthConfig(n_classes=11)
    with pytest.raises(ValueError, match='jitter_px'): SynthConfig(jitter_px=-1)
    with pytest.raises(ValueError, match='bg_hue_spread'): SynthConfig(bg_hue_spread=-0.1)
    with pytest.raises(ValueError, match='flavour'): make_synthmotion(tmp_path, flavour=1)
    with pytest.raises(ValueError, match='preset'): make_synthmotion(tmp_path, preset='tiny')
    with pytest.raises(ValueError, match='label'): render_clip(8)          # only 8 classes by default
    with pytest.raises(ValueError, match='config'): render_clip(0, config=SynthConfig(), size=32)
    with pytest.raises(FileNotFoundError, match='nothing'): load_fg_mask(tmp_path, 'A/nothing.mp4')
    with pytest.raises(FileNotFoundError): read_synth_meta(tmp_path)

def test_family_colours():
    "Version 2: a background's mean colour has its family's hue (the background is an easy cue, like scene bias)."
    import colorsys
    cfg = synth.synth_config(size=32, n_frames=4)
    for fam in range(cfg.n_families):
        for seed in range(3):
            clip, m = render_clip(seed % cfg.n_classes, bg_family=fam, seed=seed, config=cfg)
            h = colorsys.rgb_to_hsv(*(clip[~m].float().mean(0) / 255).tolist())[0]
            assert abs((h - cfg.family_hue(fam) + 0.5) % 1 - 0.5) < 0.5 / cfg.n_families, (fam, seed, h)
    wide = synth.synth_config(size=32, n_frames=4, bg_hue_spread=1.0)
    hues = [colorsys.rgb_to_hsv(*(c[~m].float().mean(0) / 255).tolist())[0]
            for c, m in (render_clip(0, bg_family=0, seed=s, config=wide) for s in range(12))]
    assert max(hues) - min(hues) > 0.3   # spread 1: any hue for any family

def test_spawn_workers_give_the_same_files(roots, tmp_path, monkeypatch):
    "Windows and macOS start the workers with `spawn` (no inherited state): the files are those of the fork run."
    monkeypatch.setattr(synth, 'pool_context', lambda platform=None: synth.mp.get_context('spawn'))
    c = make_synthmotion(tmp_path, num_workers=2, **TINY)
    a = roots[0]
    assert c.name == a.name
    assert_same_lists(a, c)

def _group_alive(pgid):
    "Pids of live (not zombie) processes in the process group `pgid`."
    out = []
    for d in Path('/proc').iterdir():
        if not d.name.isdigit(): continue
        try: st = (d / 'stat').read_text()
        except OSError: continue
        f = st[st.rindex(')') + 2:].split()
        if int(f[2]) == pgid and f[0] != 'Z': out.append(int(d.name))
    return out

@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='process groups and /proc')
def test_two_ctrl_c_during_generation_exit_and_leave_nothing(tmp_path):
    "Ctrl-C twice (SIGINT to the whole foreground group, as a terminal sends it) while workers generate: exit within seconds."
    import os, signal, subprocess, time
    mfb = Path(sys.executable).parent / 'mfb'   # the default preset: long enough to be interrupted
    # SIGINT at its default in the child, as a terminal's shell gives it: a test run started as a background job (`&`)
    # inherits SIGINT ignored, and a Python started that way never raises KeyboardInterrupt
    p = subprocess.Popen([str(mfb), 'synth', '--out', str(tmp_path)], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t = time.time()
    while time.time() - t < 120 and not any(tmp_path.glob('*.partial-*/*/*.mp4')): time.sleep(0.1)
    assert any(tmp_path.glob('*.partial-*/*/*.mp4')), 'generation did not start'
    time.sleep(0.5)
    os.killpg(p.pid, signal.SIGINT); time.sleep(0.3); os.killpg(p.pid, signal.SIGINT)
    try: _, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL); pytest.fail('still running 15 s after two Ctrl-C')
    assert p.returncode in (2, -2, 130) and err.decode().strip().splitlines() == ['mfb synth: error: interrupted'], (p.returncode, err[-600:])
    time.sleep(1)
    left = _group_alive(p.pid)
    for pid in left: os.kill(pid, signal.SIGKILL)
    assert not left, f'processes left behind: {left}'
    assert not list(tmp_path.glob('*.partial*')), list(tmp_path.iterdir())
