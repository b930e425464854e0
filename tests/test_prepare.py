"""`prepare_dataset` / `mfb prepare` on small generated datasets in every supported layout, bad inputs, an interrupted
run that resumes, variable-frame-rate and odd-sized inputs; the loader's decode report in `doctor`."""
import json, subprocess, sys
from fractions import Fraction
from pathlib import Path
import av, numpy as np, pytest, torch
from conftest import write_test_video, synthetic_frames
import mac_fame_be.prepare as prep
from mac_fame_be.prepare import prepare_dataset, prepare_video, cfr_slots, frame_types, detect_layout
from mac_fame_be.data import UCF101, HMDB51, Diving48, Kinetics400
from mac_fame_be.video import VideoError, video_info, read_clip

def ucf101(root):
    (root/'ucfTrainTestlist').mkdir(parents=True)
    (root/'ucfTrainTestlist'/'classInd.txt').write_text('1 Jump\n2 Run\n')
    vids = [('Jump/v_Jump_g01_c01.avi', 1, 'train'), ('Run/v_Run_g01_c01.avi', 2, 'train'), ('Run/v_Run_g02_c01.avi', 2, 'test')]
    for k, (v, _, _) in enumerate(vids): write_test_video(root/v, T=12 + 2 * k, h=24, w=32, codec='mpeg4', gop=10, bframes=2, seed=k)
    (root/'ucfTrainTestlist'/'trainlist01.txt').write_text(''.join(f'{v} {l}\n' for v, l, s in vids if s == 'train'))
    (root/'ucfTrainTestlist'/'testlist01.txt').write_text(''.join(f'{v}\n' for v, l, s in vids if s == 'test'))
    return UCF101

def hmdb51(root):
    (root/'testTrainMulti_7030_splits').mkdir(parents=True)
    for c, names in [('climb', ['a.avi', 'b.avi']), ('wave', ['c.avi'])]:
        for k, n in enumerate(names): write_test_video(root/c/n, T=14, h=24, w=32, codec='mpeg4', gop=6, seed=k)
        (root/'testTrainMulti_7030_splits'/f'{c}_test_split1.txt').write_text(''.join(f'{n} {1 + k % 2}\n' for k, n in enumerate(names)))
    return HMDB51

def diving48(root):
    root.mkdir(parents=True); (root/'Diving48_vocab.json').write_text(json.dumps([['a', 'b'], ['c', 'd']]))
    rows = [dict(vid_name=f'v{k}', label=k % 2, start_frame=0, end_frame=15) for k in range(3)]
    for k, r in enumerate(rows): write_test_video(root/'rgb'/f"{r['vid_name']}.mp4", T=16, h=24, w=32, gop=250, bframes=3, seed=k)
    (root/'Diving48_V2_train.json').write_text(json.dumps(rows[:2])); (root/'Diving48_V2_test.json').write_text(json.dumps(rows[2:]))
    return Diving48

def k400(root):
    (root/'annotations').mkdir(parents=True)
    rows = [('abseiling', 'aaa', 'train'), ('bowling', 'bbb', 'train'), ('bowling', 'ccc', 'val')]
    for k, (lab, yt, sub) in enumerate(rows): write_test_video(root/sub/lab/f'{yt}_000010_000020.mp4', T=18, h=24, w=34, gop=250, bframes=2, seed=k)
    for sub in ['train', 'val']:
        (root/'annotations'/f'{sub}.csv').write_text('label,youtube_id,time_start,time_end,split\n' +
                                                     ''.join(f'{l},{y},10,20,{s}\n' for l, y, s in rows if s == sub))
    return Kinetics400

LAYOUTS = dict(ucf101=ucf101, hmdb51=hmdb51, diving48=diving48, k400=k400)

@pytest.mark.parametrize('name', list(LAYOUTS))
def test_every_layout(tmp_path, name):
    src, dst = tmp_path/'src', tmp_path/'dst'
    cls = LAYOUTS[name](src)
    test = 'val' if name == 'k400' else 'test'
    assert detect_layout(src) == name
    r = prepare_dataset(src, dst, short_side=16, gop=4, progress=False)
    assert (r['layout'], r['videos'], r['prepared'], r['n_bad']) == (name, 3, 3, 0)
    assert r['check'] == {'train': dict(videos=2, missing=0), test: dict(videos=1, missing=0)}
    for subset in ['train', test]:
        a, b = cls(src, subset=subset, n_frames=4), cls(dst, subset=subset, n_frames=4)
        assert [(p.relative_to(src), l) for p, l in a.items] == [(p.relative_to(dst), l) for p, l in b.items]
        for (p, _), (q, _) in zip(a.items, b.items):
            i, j = video_info(p), video_info(q)
            assert j.n_frames == i.n_frames and j.fps == i.fps and min(j.width, j.height) == 16, (p, i, j)
            assert set(frame_types(q)) <= {'I', 'P'} and frame_types(q)[::4] == 'I' * len(range(0, j.n_frames, 4))
        assert b[0][0].shape[:2] == (3, 4)
    for f in [p for p in src.rglob('*') if p.suffix in ('.txt', '.json', '.csv')]:   # split files copied as they are
        assert (dst/f.relative_to(src)).read_bytes() == f.read_bytes()

def test_bad_inputs_are_listed_not_fatal(tmp_path, make_video):
    src, dst = tmp_path/'src', tmp_path/'dst'
    ucf101(src)
    good = write_test_video(tmp_path/'whole.mp4', T=20, h=24, w=32)
    (src/'Run'/'corrupt.mp4').write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)))
    (src/'Run'/'truncated.mp4').write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    (src/'Run'/'notes.avi').write_text('not a video\n' * 40)
    (src/'Run'/'empty.mp4').write_bytes(b'')
    r = prepare_dataset(src, dst, short_side=16, gop=4, progress=False)
    assert (r['videos'], r['prepared'], r['n_bad']) == (7, 3, 4)
    assert [b['path'] for b in r['bad']] == ['Run/corrupt.mp4', 'Run/empty.mp4', 'Run/notes.avi', 'Run/truncated.mp4']
    assert json.loads((dst/'prepare_report.json').read_text())['bad'] == r['bad']
    assert not list(dst.rglob('*.part')) and not (dst/'Run'/'corrupt.mp4').exists()

def test_truncated_stream_is_an_error(tmp_path):
    "An AVI cut short keeps its header's frame count: fewer frames decode than promised."
    p = write_test_video(tmp_path/'t.avi', T=40, h=24, w=32, codec='mpeg4')
    data = p.read_bytes(); (tmp_path/'cut.avi').write_bytes(data[:len(data) * 2 // 3])
    with pytest.raises(VideoError): prepare_video(tmp_path/'cut.avi', tmp_path/'o.avi')

def test_interrupted_run_resumes(tmp_path, monkeypatch):
    src, dst = tmp_path/'src', tmp_path/'dst'
    ucf101(src)
    real, calls = prepare_video, []
    def interrupted(s, d, **kw):
        calls.append(s)
        if len(calls) == 3:                                  # the third video: half written, then Ctrl-C
            Path(d).write_bytes(b'half a video'); raise KeyboardInterrupt
        return real(s, d, **kw)
    monkeypatch.setattr(prep, 'prepare_video', interrupted)
    with pytest.raises(KeyboardInterrupt): prepare_dataset(src, dst, short_side=16, gop=4, progress=False)
    done = sorted(dst.rglob('*.avi')); assert len(done) == 2 and len(list(dst.rglob('*.part'))) == 1
    mtimes = [p.stat().st_mtime_ns for p in done]
    monkeypatch.setattr(prep, 'prepare_video', real)
    r = prepare_dataset(src, dst, short_side=16, gop=4, progress=False)
    assert (r['already_done'], r['prepared'], r['n_bad']) == (2, 1, 0)
    assert [p.stat().st_mtime_ns for p in done] == mtimes and not list(dst.rglob('*.part'))
    assert all(video_info(p).n_frames == video_info(src/p.relative_to(dst)).n_frames for p in dst.rglob('*.avi'))

def test_parallel_workers(tmp_path):
    src, dst = tmp_path/'src', tmp_path/'dst'
    hmdb51(src)
    r = prepare_dataset(src, dst, short_side=16, gop=4, workers=2, progress=False)
    assert (r['prepared'], r['n_bad'], r['check']['train']['missing']) == (3, 0, 0)

def write_vfr(path, frames, times_ms):
    with av.open(str(path), 'w') as c:
        s = c.add_stream('libx264', rate=25)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], 'yuv420p'
        s.codec_context.time_base = Fraction(1, 1000); s.options = {'bf': '0', 'crf': '12'}
        for a, t in zip(frames, times_ms):
            f = av.VideoFrame.from_ndarray(a, format='rgb24'); f.pts, f.time_base = int(t), Fraction(1, 1000)
            for p in s.encode(f): c.mux(p)
        for p in s.encode(): c.mux(p)
    return path

def test_variable_frame_rate(tmp_path):
    "20 frames 20 ms apart, then 10 frames 100 ms apart: the output is constant-rate with the same count, by timestamp."
    frames = synthetic_frames(30, 48, 64)
    times = np.cumsum([0] + [20] * 20 + [100] * 9)
    src = write_vfr(tmp_path/'vfr.mp4', frames, times)
    vi = video_info(src)
    info = prepare_video(src, tmp_path/'cfr.mp4', short_side=None)
    assert (info['n_frames'], video_info(tmp_path/'cfr.mp4').n_frames) == (30, 30)
    out = read_clip(tmp_path/'cfr.mp4', range(30)).numpy().astype(float)
    shown = (np.abs(frames.astype(float)[:, None] - out[None]).mean((2, 3, 4))).argmin(0)   # which input frame each output shows
    expected = cfr_slots((times - times[0]) / 1000 * vi.fps, 30)
    assert (shown == expected).all(), (shown, expected)
    assert len(set(expected)) < 30 and (np.diff(expected) > 1).any()   # frames were dropped and repeated

def test_odd_sized_input(tmp_path):
    p = write_test_video(tmp_path/'odd.avi', T=10, h=33, w=45, codec='mpeg4')
    assert prepare_video(p, tmp_path/'a.avi', short_side=None) == dict(n_frames=10, width=44, height=32, fps=25.0)
    assert prepare_video(p, tmp_path/'b.mp4', short_side=21)['height'] == 20
    assert read_clip(tmp_path/'b.mp4', range(10)).shape == (10, 20, 28, 3)

def test_bad_arguments(tmp_path):
    with pytest.raises(NotADirectoryError): prepare_dataset(tmp_path/'missing', tmp_path/'dst')
    with pytest.raises(ValueError, match='outside'): prepare_dataset(tmp_path, tmp_path/'inside')
    with pytest.raises(ValueError, match='workers'): prepare_dataset(tmp_path, tmp_path.parent/'x', workers=0)
    with pytest.raises(ValueError, match='dataset'): prepare_dataset(tmp_path, tmp_path.parent/'x', dataset='imagenet')

def test_cli(tmp_path):
    src = tmp_path/'src'; diving48(src)
    mfb = Path(sys.executable).parent/'mfb'
    r = subprocess.run([str(mfb), 'prepare', str(src), str(tmp_path/'dst'), '--short-side', '16', '--gop', '4', '--workers', '1'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'disk:' in r.stdout and 'MB ->' in r.stdout and '--dataset diving48' in r.stdout
    r = subprocess.run([str(mfb), 'prepare', str(tmp_path/'nope'), str(tmp_path/'dst')], capture_output=True, text=True)
    assert r.returncode == 2 and 'nope' in r.stderr and 'Traceback' not in r.stderr

def test_doctor_reports_the_decode_rate(tmp_path, capsys):
    from mac_fame_be.pretrain import doctor
    ucf101(tmp_path/'ucf')
    tab = doctor('ucf101', tmp_path/'ucf', bs=2, steps=1, n_frames=4, size=16)
    out = capsys.readouterr().out
    assert tab.attrs['decode_per_core'] > 0 and 'clips/s per core' in out, out
    assert 'the loader keeps up' in out or f"mfb prepare {tmp_path/'ucf'}" in out, out

# --- issue 25: frames numbered in display order, settings recorded, outputs verified, one run per destination ----------
def grey_video(path, T=40, bframes=2, codec='libx264', gop=12, rotation=0):
    "Frame t uniformly grey at 6·t (a frame's index readable from its pixels), 32×48."
    x = np.repeat(np.repeat(np.repeat((np.arange(T) * 6).astype(np.uint8)[:, None, None, None], 32, 1), 48, 2), 3, 3)
    from mac_fame_be.video import write_video
    return write_video(path, x, gop=gop, bframes=bframes, codec=codec, rotation=rotation)

def greys(path):
    with av.open(str(path)) as c: return [round(float(f.to_ndarray(format='rgb24').mean()) / 6) for f in c.decode(video=0)]

@pytest.mark.parametrize('ext', ['avi', 'mkv', 'mov', 'mp4', 'flv', 'mpg'])
def test_prepared_frames_in_display_order_and_container_from_the_name(tmp_path, ext):
    "H.264 with B-frames in AVI (decode-order timestamps) and the rest: prepared frame k is original frame k, in the named container."
    p = grey_video(tmp_path/f'v.{ext}')
    assert greys(p) == list(range(40))
    info = prepare_video(p, tmp_path/'out'/f'v.{ext}.part', format=prep._out_format(f'v.{ext}'), short_side=16)
    q = tmp_path/'out'/f'v.{ext}'; (tmp_path/'out'/f'v.{ext}.part').rename(q)
    assert info['n_frames'] == 40 and greys(q) == list(range(40)), greys(q)
    assert [round(float(a.float().mean()) / 6) for a in read_clip(q, range(40))] == list(range(40))
    want = {'avi': 'avi', 'mkv': 'matroska', 'mov': 'mov', 'mp4': 'mov', 'flv': 'flv', 'mpg': 'mpeg'}[ext]
    with av.open(str(q)) as c: assert want in c.format.name, c.format.name

def patch_avi_frame_count(path, n):
    "Write `n` as the frame count in an AVI's headers (avih and strh), as a damaged or badly muxed file has."
    b = bytearray(path.read_bytes())
    i = b.index(b'avih'); b[i + 24:i + 28] = n.to_bytes(4, 'little')
    i = b.index(b'strh'); b[i + 40:i + 44] = n.to_bytes(4, 'little')
    path.write_bytes(bytes(b))

def test_header_count_below_the_real_count(tmp_path):
    p = grey_video(tmp_path/'src'/'v.avi', T=20, bframes=0)
    patch_avi_frame_count(p, 10)
    with av.open(str(p)) as c: assert c.streams.video[0].frames == 10
    r = prepare_dataset(tmp_path/'src', tmp_path/'dst', short_side=16, progress=False)
    assert greys(tmp_path/'dst'/'v.avi') == list(range(20))
    assert r['prepared'] == 1 and len(r['warnings']) == 1 and 'header says 10' in r['warnings'][0]['warning']
    assert read_clip(p, [15, 19]).shape[0] == 2 and video_info(p).n_frames == 20   # every frame the file holds

def test_rotation_applied_when_preparing(tmp_path):
    p = grey_video(tmp_path/'r.mp4', T=4, rotation=90)
    info = prepare_video(p, tmp_path/'o.mp4', short_side=16)
    assert (info['width'], info['height']) == (16, 24)   # upright: the 48×32 frames are shown 32 wide, 48 high
    assert read_clip(tmp_path/'o.mp4', [0]).shape == (1, 24, 16, 3) == read_clip(p, [0], size=16).shape

def small_ucf(src, n=3):
    (src/'lists').mkdir(parents=True); (src/'lists'/'classInd.txt').write_text('1 A\n')
    for k in range(n): write_test_video(src/'A'/f'v_A_g0{k}_c01.avi', T=10, h=24, w=32, gop=5, seed=k)
    (src/'lists'/'trainlist01.txt').write_text(''.join(f'A/v_A_g0{k}_c01.avi 1\n' for k in range(n)))

def test_rerun_checks_settings_and_outputs(tmp_path):
    src, dst = tmp_path/'src', tmp_path/'dst'; small_ucf(src)
    assert prepare_dataset(src, dst, short_side=16, gop=4, progress=False)['prepared'] == 3
    with pytest.raises(ValueError, match=r'other settings: short_side=16 \(now 20\)'): prepare_dataset(src, dst, short_side=20, gop=4, progress=False)
    with pytest.raises(ValueError, match=r'gop=4 \(now 8\)'): prepare_dataset(src, dst, short_side=16, gop=8, progress=False)
    (dst/'A'/'v_A_g00_c01.avi').write_bytes(b'')                                     # a 0-byte output
    b = (dst/'A'/'v_A_g01_c01.avi').read_bytes(); (dst/'A'/'v_A_g01_c01.avi').write_bytes(b[:len(b) // 2])  # truncated
    r = prepare_dataset(src, dst, short_side=16, gop=4, progress=False)
    assert (r['prepared'], r['already_done'], r['n_bad']) == (2, 1, 0)
    assert all(video_info(p).n_frames == 10 for p in (dst/'A').glob('*.avi'))
    r = prepare_dataset(src, dst, short_side=20, gop=8, progress=False, redo=True)
    assert (r['prepared'], r['already_done']) == (3, 0) and min(video_info(dst/'A'/'v_A_g00_c01.avi')[3:]) == 20

def test_absolute_paths_in_lists_are_rewritten(tmp_path):
    src, dst = tmp_path/'src', tmp_path/'dst'; small_ucf(src)
    (src/'lists'/'trainlist01.txt').write_text(''.join(f'{src.resolve()}/A/v_A_g0{k}_c01.avi 1\n' for k in range(3)))
    r = prepare_dataset(src, dst, short_side=16, progress=False)
    text = (dst/'lists'/'trainlist01.txt').read_text()
    assert str(src.resolve()) not in text and text.count(str(dst.resolve())) == 3 and r['lists_rewritten'] == 1

def test_two_prepares_into_one_destination(tmp_path):
    src, dst = tmp_path/'src', tmp_path/'dst'; small_ucf(src, n=6)
    mfb = Path(sys.executable).parent/'mfb'
    cmd = [str(mfb), 'prepare', str(src), str(dst), '--short-side', '16', '--workers', '1']
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in ps]
    assert [p.returncode for p in ps] == [0, 0], outs
    assert all(' 0 bad' in o for o, _ in outs), outs
    assert sorted(p.name for p in (dst/'A').glob('*.avi')) == [f'v_A_g0{k}_c01.avi' for k in range(6)]
    assert all(video_info(p).n_frames == 10 for p in (dst/'A').glob('*.avi'))
    assert not list(dst.rglob('*.part'))

@pytest.mark.parametrize('opt,val,words', [('--short-side', '-5', 'short-side'), ('--short-side', '1', 'short_side'),
                                           ('--gop', '0', 'gop'), ('--crf', '99', 'crf')])
def test_bad_options_refused_up_front(tmp_path, opt, val, words):
    src = tmp_path/'src'; small_ucf(src, n=1)
    mfb = Path(sys.executable).parent/'mfb'
    r = subprocess.run([str(mfb), 'prepare', str(src), str(tmp_path/'dst'), opt, val], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and words in r.stderr and val in r.stderr, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path/'dst'/'A').exists()
