"Shared fixtures: small videos written with PyAV (any test may use them)."
import av, numpy as np, pytest
from pathlib import Path

def synthetic_frames(T=8, h=32, w=32, seed=0):
    "uint8 T×H×W×3 frames: a square moving over a noisy gradient, so every frame differs."
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full_like(xx, 128)], -1)
    out = np.empty((T, h, w, 3), np.uint8)
    for t in range(T):
        f = base + rng.integers(-20, 21, base.shape)
        y0, x0 = (t * 3) % max(h - 8, 1), (t * 5) % max(w - 8, 1)
        f[y0:y0 + 8, x0:x0 + 8] = (255, 255, 255)
        out[t] = np.clip(f, 0, 255)
    return out

def write_test_video(path, T=8, h=32, w=32, fps=25, gop=12, bframes=0, codec='libx264', seed=0, **opts):
    "Write a small video with PyAV (container from the suffix: .mp4 with libx264, .avi with mpeg4, ...)."
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    frames = synthetic_frames(T, h, w, seed)
    with av.open(str(path), 'w') as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, 'yuv420p'
        s.codec_context.gop_size, s.codec_context.max_b_frames = gop, bframes
        if codec == 'libx264':
            s.options = {'crf': '18', 'g': str(gop), 'keyint_min': str(gop), 'sc_threshold': '0', 'bf': str(bframes), **opts}
        for a in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(a, format='rgb24')): c.mux(p)
        for p in s.encode(): c.mux(p)
    return path

def pytest_configure(config):
    config.addinivalue_line('markers', 'dev: needs the development tools or the source tree (nbdev, nbconvert, build, '
                            'the notebooks); CI\'s wheel stage runs the others with `-m "not dev"` on the installed wheel')

@pytest.fixture
def make_video(tmp_path):
    "Factory: `make_video(name='v.mp4', T=8, h=32, w=32, gop=12, bframes=0, ...)` -> path under tmp_path."
    def _make(name='v.mp4', **kw): return write_test_video(tmp_path / name, **kw)
    return _make
