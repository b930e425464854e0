"Integration and bad-input tests for mac_fame_be.video."
import av, io, numpy as np, pytest, torch
from mac_fame_be.video import VideoError, video_info, read_clip, write_video, clip_html

def full_decode(path):
    with av.open(str(path)) as c: return np.stack([f.to_ndarray(format='rgb24') for f in c.decode(video=0)])

@pytest.mark.parametrize('name,kw', [('long_gop_bframes.mp4', dict(T=40, gop=250, bframes=3)),
                                     ('short_gop_bframes.mp4', dict(T=40, gop=6, bframes=2)),
                                     ('mpeg4_bframes.avi', dict(T=30, gop=10, bframes=2, codec='mpeg4')),
                                     ('no_frame_count.mkv', dict(T=30, gop=8, bframes=2))])
def test_read_clip_matches_full_decode(make_video, name, kw):
    p = make_video(name, **kw)
    full = full_decode(p)
    assert len(full) == kw['T'] == video_info(p).n_frames
    if name.endswith('.mkv'):  # Matroska stores no frame count: video_info counted packets
        with av.open(str(p)) as c: assert c.streams.video[0].frames == 0
    rng = np.random.default_rng(0)
    lists = [[0], [kw['T'] - 1], [3, 3, 4, 20], list(range(kw['T']))] + \
            [sorted(rng.integers(0, kw['T'], rng.integers(1, 8)).tolist()) for _ in range(15)]
    for ix in lists:
        clip = read_clip(p, ix)
        assert clip.dtype == torch.uint8 and clip.shape == (len(ix), 32, 32, 3)
        assert np.array_equal(clip.numpy(), full[ix]), ix

def test_resize(make_video):
    p = make_video(h=32, w=48)
    assert read_clip(p, [0, 1], size=16).shape == (2, 16, 24, 3)
    assert read_clip(p, [0], size=(10, 12)).shape == (1, 10, 12, 3)

def test_write_roundtrip(tmp_path):
    x = torch.zeros(5, 16, 24, 3, dtype=torch.uint8); x[:, 4:12, 8:16] = 200
    p = write_video(tmp_path / 'w.mp4', x, fps=10, gop=2, bframes=1)
    info = video_info(p)
    assert (info.n_frames, info.fps, info.width, info.height) == (5, 10.0, 24, 16)
    assert (read_clip(p, range(5)).int() - x.int()).abs().max() <= 8
    with pytest.raises(ValueError, match='even'): write_video(tmp_path / 'o.mp4', torch.zeros(2, 15, 16, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match='uint8'): write_video(tmp_path / 'o.mp4', np.zeros((2, 16, 16, 3), np.float32))
    assert '<video' in clip_html(x).data

def test_bad_files(tmp_path, make_video):
    (tmp_path / 'empty.mp4').write_bytes(b'')
    (tmp_path / 'text.mp4').write_text('not a video at all ' * 20)
    full = write_video(tmp_path / 'full.mp4', torch.randint(0, 255, (30, 32, 32, 3), dtype=torch.uint8), faststart=True)
    (tmp_path / 'trunc.mp4').write_bytes(full.read_bytes()[:full.stat().st_size // 2])  # moov first: opens, ends early
    for name, msg in [('missing.mp4', 'no such file'), ('empty.mp4', 'empty'), ('text.mp4', 'cannot open')]:
        for fn in (lambda p: video_info(p), lambda p: read_clip(p, [0])):
            with pytest.raises(VideoError, match=msg) as e: fn(tmp_path / name)
            assert name in str(e.value)
    with pytest.raises(VideoError, match='trunc.mp4: (decoding failed|frame index out of range or file truncated)'): read_clip(tmp_path / 'trunc.mp4', [0, 29])
    p = make_video(T=8)
    with pytest.raises(VideoError, match='v.mp4.*out of range'): read_clip(p, [2, 8])
    with pytest.raises(ValueError, match='sorted'): read_clip(p, [3, 1])

# --- issue 25 §1: frame-exact decoding whatever the container stores as timestamps --------------------------------------
CONTAINERS = [('avi', 'libx264', 0), ('avi', 'libx264', 2), ('mkv', 'libx264', 0), ('mkv', 'libx264', 3),
              ('mp4', 'libx264', 0), ('mp4', 'libx264', 2), ('mov', 'libx264', 0), ('mov', 'libx264', 2),
              ('webm', 'libvpx-vp9', 0), ('webm', 'libvpx', 0), ('mpg', 'mpeg2video', 2), ('mpg', 'libx264', 2),
              ('flv', 'libx264', 2), ('avi', 'mpeg4', 2)]

@pytest.mark.parametrize('ext,codec,bf', CONTAINERS, ids=[f'{e}-{c}-bf{b}' for e, c, b in CONTAINERS])
def test_frame_exact_every_container(make_video, ext, codec, bf):
    "Every clip equals the same frames of a sequential decode (frame k = the k-th frame shown), for every container."
    T = 40
    p = make_video(f'v.{ext}', T=T, gop=12, bframes=bf, codec=codec)
    full = full_decode(p)
    assert len(full) == T
    rng = np.random.default_rng(1)
    lists = [list(range(T)), [0], [T - 1], [9, 10, 11, 12, 13], [3, 3, 30, 31]] + \
            [sorted(rng.integers(0, T, rng.integers(1, 6)).tolist()) for _ in range(8)] + \
            [list(range(k, k + 8)) for k in range(0, T - 8, 5)]
    for ix in lists:
        assert np.array_equal(read_clip(p, ix).numpy(), full[ix]), (ext, codec, bf, ix)

def test_rotation_applied(tmp_path):
    "A phone video's display matrix is applied: frames come upright and sized as shown."
    x = np.zeros((4, 32, 48, 3), np.uint8); x[:, :8, :8] = 255   # a white corner at the top left of a wide frame
    for rot in (90, -90, 180):
        p = write_video(tmp_path / f'r{rot % 360}.mp4', x, rotation=rot)
        clip = read_clip(p, [0, 3]).numpy()
        want = np.rot90(x[:1], rot // 90, axes=(1, 2))
        assert clip.shape[1:3] == want.shape[1:3], (rot, clip.shape)
        assert np.abs(clip[0].astype(int) - want[0]).mean() < 8, rot
        assert read_clip(p, [0], size=16).shape[1:3] == ((24, 16) if rot % 180 else (16, 24))

def test_write_video_container_from_suffix(tmp_path):
    x = np.zeros((3, 16, 16, 3), np.uint8)
    for ext, name in [('avi', 'avi'), ('mkv', 'matroska'), ('mov', 'mov'), ('mp4', 'mp4')]:
        p = write_video(tmp_path / f'w.{ext}', x)
        with av.open(str(p)) as c: assert name in c.format.name, (ext, c.format.name)
