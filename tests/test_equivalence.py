"""Behaviour fingerprint of pretraining: for each method, the per-batch losses and a SHA-256 of the final weights of a
short fixed-seed CPU run on SynthMotion's `small` preset, compared bit for bit with `tests/data/equivalence.json`.

The reference was recorded on the code before the training half was reshaped (issue 11); a refactoring must leave it
unchanged. Record it again (only when behaviour is meant to change) with `python tests/test_equivalence.py --record`.
Bit-for-bit equality holds for the same decoded data, torch version and CPU kernel family; on another platform the
test says so and skips rather than compare numbers that were never meant to agree there."""
import hashlib, json, random, sys, warnings
from pathlib import Path
import numpy as np, pytest, torch
from fastai.callback.core import Callback
from mac_fame_be.synth import make_synthmotion
from mac_fame_be.loaders import video_dls
from mac_fame_be.pretrain import pretrain_learner
from mac_fame_be.loaders import dataset_from_name

REF = Path(__file__).parent / 'data' / 'equivalence.json'
METHODS = ('moco', 'mac', 'fame', 'be', 'mac+fame', 'fame+be')
RUN = dict(n_frames=8, size=32, bs=8, crop=24, queue_size=16, epochs=2, lr=0.05, seed=0)
DATA = dict(preset='small', layout='free', n_frames=32)   # the SynthMotion the reference was recorded on (the defaults before issue 12)

class Rec(Callback):
    "Record every training batch's loss."
    order = 90
    def before_fit(self): self.losses = []
    def after_loss(self):
        if self.training: self.losses.append(float(self.loss))

def _sha(t): return hashlib.sha256(t.detach().cpu().contiguous().numpy().tobytes()).hexdigest()

def platform_key():
    return dict(torch=torch.__version__.split('+')[0], cpu=torch.backends.cpu.get_cpu_capability())

def datasets(root):
    "The SynthMotion small training set in memory, in both modes, and a digest of its decoded frames."
    ds = {m: dataset_from_name('synthmotion', root, mode=m, n_frames=RUN['n_frames'], size=RUN['size'], progress=False)
          for m in ('clip', 'two_clips')}
    h = hashlib.sha256()
    for v in ds['clip'].videos: h.update(v.numpy().tobytes())
    return ds, h.hexdigest()

def fingerprint(method, ds, path):
    "Losses of every training batch and the SHA-256 of the final state_dict of one short `method` run."
    s = RUN['seed']; random.seed(s); np.random.seed(s); torch.manual_seed(s)
    two = 'fame' in method
    dls = video_dls(ds['two_clips' if two else 'clip'], bs=RUN['bs'], num_workers=0, device='cpu', n_inp=2 if two else 1)
    learn = pretrain_learner(dls, method, 'tiny3d', path=path, queue_size=RUN['queue_size'], crop=RUN['crop'],
                             epochs=RUN['epochs'], lr=RUN['lr'])
    rec = Rec()
    with learn.no_bar(), learn.no_logging(): learn.fit(RUN['epochs'], cbs=[rec])
    h = hashlib.sha256()
    for k, v in sorted(learn.model.state_dict().items()): h.update(k.encode()); h.update(_sha(v).encode())
    return dict(losses=rec.losses, sha=h.hexdigest())

class deterministic:
    "One torch thread and deterministic algorithms inside the block; the previous settings after it."
    def __enter__(self):
        self.old = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
        torch.set_num_threads(1); torch.use_deterministic_algorithms(True)
    def __exit__(self, *a):
        torch.set_num_threads(self.old[0]); torch.use_deterministic_algorithms(self.old[1])

def record(folder):
    folder = Path(folder)
    root = make_synthmotion(folder, seed=0, num_workers=1, progress=False, **DATA)
    ds, data_sha = datasets(root)
    with deterministic(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        runs = {m: fingerprint(m, ds, folder / 'runs') for m in METHODS}
    return dict(run=RUN, platform=platform_key(), data_sha=data_sha, methods=runs)

@pytest.fixture(scope='session')
def synth_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp('equivalence')
    root = make_synthmotion(folder, seed=0, num_workers=1, progress=False, **DATA)
    return folder, datasets(root)

@pytest.mark.parametrize('method', METHODS)
def test_equivalence(method, synth_data):
    ref = json.loads(REF.read_text())
    assert ref['run'] == RUN, "the run settings changed: record the reference again on the unchanged code"
    folder, (ds, data_sha) = synth_data
    if ref['platform'] != platform_key() or ref['data_sha'] != data_sha:
        pytest.skip(f"reference recorded on {ref['platform']} with other decoded data or kernels "
                    f"(here {platform_key()}, data {'same' if ref['data_sha'] == data_sha else 'different'})")
    with deterministic(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        got = fingerprint(method, ds, folder / 'runs')
    want = ref['methods'][method]
    assert got['losses'] == want['losses'], f"{method}: losses {got['losses']} != {want['losses']}"
    assert got['sha'] == want['sha'], f"{method}: final weights differ"

if __name__ == '__main__' and '--record' in sys.argv:
    import tempfile
    with tempfile.TemporaryDirectory() as d: out = record(d)
    REF.parent.mkdir(exist_ok=True)
    REF.write_text(json.dumps(out, indent=1) + '\n')
    for m, r in out['methods'].items(): print(m, len(r['losses']), r['losses'][:2], r['sha'][:16])
