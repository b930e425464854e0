"""Smoke test of an installed mac_fame_be (the release workflow runs it against the wheel in a clean environment):
`mfb --help`, a video written and read back and one pretraining step.

    python tools/smoke.py        # run from any folder but the repository's root (so the installed copy is imported)
"""
import json, subprocess, sys, tempfile
from pathlib import Path

def main():
    import torch, mac_fame_be
    from mac_fame_be.video import write_video, read_clip
    from mac_fame_be.loaders import video_dls
    from mac_fame_be.pretrain import pretrain_learner
    assert 'site-packages' in mac_fame_be.__file__, f'not the installed copy: {mac_fame_be.__file__}'
    r = subprocess.run([sys.executable, '-c', 'from mac_fame_be.cli import main; main(["--help"])'], capture_output=True, text=True)
    assert r.returncode == 0 and 'pretrain' in r.stdout and 'export' in r.stdout, r.stdout + r.stderr
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        write_video(d/'v.mp4', torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8).numpy(), fps=4)
        assert tuple(read_clip(d/'v.mp4', [0, 3]).shape) == (2, 32, 32, 3)
        class Clips(torch.utils.data.Dataset):
            n_frames, mode, classes = 8, 'clip', [0, 1]
            def __len__(self): return 4
            def __getitem__(self, i): return torch.randint(0, 256, (3, 8, 32, 32), dtype=torch.uint8), i % 2
        learn = pretrain_learner(video_dls(Clips(), bs=4), 'mac', 'tiny3d', path=d, queue_size=8, crop=24, epochs=1)
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
        loss = float(learn.recorder.losses[-1]); assert loss == loss, loss
    print(f'smoke test passed: mac_fame_be {mac_fame_be.__version__} from {mac_fame_be.__file__}, one step, loss {loss:.3f}')

if __name__ == '__main__': main()
