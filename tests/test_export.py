"""`mfb export` and `finetune.export_backbone`: the backbone alone, in torchvision's layout, loads into
`torchvision.models.video.r2plus1d_18` and gives the project's features once the recorded normalisation is applied."""
import json, subprocess, sys
import pytest, torch
from torch import nn
from torchvision.models.video import r2plus1d_18
from mac_fame_be.models import create_backbone
from mac_fame_be.pretrain import BACKBONE_PREFIX
from mac_fame_be.finetune import export_backbone

@pytest.fixture(scope='module')
def r21d_ck(tmp_path_factory):
    "A pretraining-style checkpoint of a random R(2+1)D-18 (the backbone under `BACKBONE_PREFIX`, plus a head to drop)."
    torch.manual_seed(0)
    bb = create_backbone('r2plus1d_18').eval()
    sd = {BACKBONE_PREFIX + k: v for k, v in bb.state_dict().items()} | {'moco.queue': torch.zeros(4, 8)}
    path = tmp_path_factory.mktemp('ck')/'checkpoint.pth'
    torch.save(dict(model=sd, arch='r2plus1d_18', n_frames=8, config=dict(crop=32)), path)
    return path, bb

def test_export_loads_into_torchvision_with_the_same_features(r21d_ck, tmp_path):
    path, bb = r21d_ck
    out = export_backbone(path, tmp_path/'bb.pth')
    meta = json.loads(out.with_suffix('.json').read_text())
    assert meta['architecture'] == 'r2plus1d_18' and meta['torchvision'] == 'torchvision.models.video.r2plus1d_18'
    assert meta['input']['frames'] == 8 and meta['input']['size'] == [32, 32]
    sd = torch.load(out, weights_only=True)
    assert not any(k.startswith(('moco.', 'fc.')) for k in sd)           # the backbone alone
    tv = r2plus1d_18(weights=None); tv.fc = nn.Identity()
    tv.load_state_dict(sd)                                               # strict
    tv.eval()
    mean, std = (torch.tensor(meta['normalization'][k]).view(1, 3, 1, 1, 1) for k in ('mean', 'std'))
    x = torch.rand(2, 3, 8, 32, 32)
    with torch.no_grad(): ours, theirs, raw = bb(x), tv((x - mean) / std), tv(x)
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-4)
    assert (raw - ours).abs().max() > 0.05                               # the normalisation matters: the test can fail

def test_cli_export_and_bad_input(r21d_ck, tmp_path):
    path, _ = r21d_ck
    from mac_fame_be.cli import main
    assert main(['export', str(path), '--out', str(tmp_path/'e'/'bb.pth')]) == 0
    assert (tmp_path/'e'/'bb.pth').exists() and (tmp_path/'e'/'bb.json').exists()
    assert not list((tmp_path/'e').glob('*.tmp'))
    (tmp_path/'junk.pth').write_bytes(b'not a checkpoint')
    r = subprocess.run([sys.executable, '-c', 'import sys; from mac_fame_be.cli import main; sys.exit(main(sys.argv[1:]))',
                        'export', str(tmp_path/'junk.pth'), '--out', str(tmp_path/'x.pth')], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and 'not a readable checkpoint' in r.stderr, r.stderr
    with pytest.raises(ValueError, match='is a folder'): export_backbone(path, tmp_path)
