"Shared fixtures: small videos written with PyAV (any test may use them)."
import av, pytest
from pathlib import Path
from mac_fame_be._reference import toy_frames

def synthetic_frames(T=8, h=32, w=32, seed=0):
    "uint8 T×H×W×3 frames: the toy clip (`_reference.toy_clips`), a white square moving over a noisy gradient, so every frame differs."
    return toy_frames(T=T, H=h, W=w, side=min(8, h, w), start=(0, 0), step=(3, 5), bg='gradient', bg_value=0.5,
                      noise=20 / 255, border='wrap', seed=seed).numpy()

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
