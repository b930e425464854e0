"Pretraining and finetuning: exact resume, a non-finite loss, bad arguments, and short runs of the entry points."
import random, warnings
import numpy as np, pytest, torch
from fastai.callback.core import Callback, CancelFitException
from mac_fame_be.loaders import video_dls
from mac_fame_be.pretrain import pretrain_learner, run_pretrain, doctor, PretrainConfig
from mac_fame_be.train import load_checkpoint, CheckpointCallback, ResumableCSVLogger
from mac_fame_be.steps import NonFiniteLossError, STAGES
from mac_fame_be.loaders import dataset_from_name
from mac_fame_be.methods import data_mode
from mac_fame_be.finetune import run_finetune, run_linear, backbone_from_checkpoint, finetune_learner, linear_probe_learner

warnings.filterwarnings('ignore', message='.*jit.script.*')

class RandomClips(torch.utils.data.Dataset):
    "8 random uint8 videos of 16 frames of 32²; items are random 8-frame windows (one or two), so loading draws from torch's RNG."
    def __init__(self, two=False, n=8):
        g = torch.Generator().manual_seed(0)
        self.videos = torch.randint(0, 256, (n, 3, 16, 32, 32), generator=g, dtype=torch.uint8)
        self.two, self.n_frames, self.mode, self.classes = two, 8, 'two_clips' if two else 'clip', list(range(4))
    def __len__(self): return len(self.videos)
    def _clip(self, i):
        s = int(torch.randint(0, 9, (1,)))
        return self.videos[i][:, s:s + 8]
    def __getitem__(self, i):
        return (self._clip(i), self._clip(i), i % 4) if self.two else (self._clip(i), i % 4)

class Interrupt(Callback):
    "Stop the fit after the first epoch (after the checkpoint of that epoch is written)."
    order = 100
    def after_epoch(self):
        if self.epoch == 0: raise CancelFitException()

def _seed(s): random.seed(s); np.random.seed(s); torch.manual_seed(s)

def _run(method, out, cbs=(), resume=None, seed=0):
    _seed(seed)
    two = data_mode(method) == 'two_clips'
    dls = video_dls(RandomClips(two), bs=4, n_inp=2 if two else 1)
    learn = pretrain_learner(dls, method, 'tiny3d', path=out, queue_size=16, crop=24, epochs=2, lr=0.05)
    if resume is not None: load_checkpoint(learn, resume)
    with learn.no_bar(), learn.no_logging():
        learn.fit(2, cbs=[ResumableCSVLogger('log.csv', append=resume is not None), CheckpointCallback(out / 'ck.pth')] + list(cbs))
    return learn

@pytest.fixture
def deterministic():
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)

@pytest.mark.parametrize('method', ['mac', 'fame+be'])
def test_exact_resume(tmp_path, deterministic, method):
    full = _run(method, tmp_path / 'full')
    _run(method, tmp_path / 'cut', cbs=[Interrupt()])
    ck = torch.load(tmp_path / 'cut' / 'ck.pth', weights_only=False)
    assert ck['epoch'] == 1 and ck['n_epoch'] == 2
    assert {'moco.queue', 'moco.queue_ptr'} <= set(ck['model']) and any(k.startswith('moco.key_encoder.') for k in ck['model'])
    assert {'torch', 'python', 'numpy', 'loaders'} <= set(ck['rng']) and ck['opt'] is not None
    resumed = _run(method, tmp_path / 'cut', resume=tmp_path / 'cut' / 'ck.pth', seed=123)   # another seed: the states decide
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert full.opt.state_dict()['hypers'] == resumed.opt.state_dict()['hypers']
    # the log of the resumed run continues the interrupted one: same rows as the uninterrupted log (bar the time)
    rows = lambda p: [l.split(',')[:-1] for l in (p / 'log.csv').read_text().splitlines()]
    assert rows(tmp_path / 'full') == rows(tmp_path / 'cut')

class InjectNaN(Callback):
    "A NaN loss at epoch 1, batch 1 (NaN pixels are refused by the backbone's input check before any loss)."
    order = 10   # after the loss, before StopOnNonFinite (11)
    def after_loss(self):
        if self.epoch == 1 and self.iter == 1: self.learn.loss_grad = self.loss_grad * float('nan')

def test_nonfinite_loss_stops(tmp_path):
    _seed(0)
    dls = video_dls(RandomClips(), bs=4)
    learn = pretrain_learner(dls, 'mac', 'tiny3d', path=tmp_path, queue_size=16, crop=24, cbs=[InjectNaN()])
    with learn.no_bar(), learn.no_logging(), pytest.raises(NonFiniteLossError, match='epoch 1, batch 1'):
        learn.fit(2)

def test_log_file_closed_after_an_error(tmp_path):
    "A run stopped by an error (here a non-finite loss) leaves `log.csv` closed, with the rows written so far."
    import gc
    _seed(0)
    learn = pretrain_learner(video_dls(RandomClips(), bs=4), 'mac', 'tiny3d', path=tmp_path, queue_size=16, crop=24, cbs=[InjectNaN()])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always', ResourceWarning)
        with learn.no_bar(), learn.no_logging(), pytest.raises(NonFiniteLossError):
            learn.fit(2, cbs=[ResumableCSVLogger('log.csv')])
        del learn; gc.collect()
    assert [str(x.message) for x in w if issubclass(x.category, ResourceWarning)] == []
    rows = (tmp_path / 'log.csv').read_text().splitlines()
    assert rows[0].startswith('epoch') and [r.split(',')[0] for r in rows[1:]] == ['0']

def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown method 'simclr'"): run_pretrain('synthmotion', tmp_path, method='simclr')
    with pytest.raises(ValueError, match="'moco' is the plain baseline"): PretrainConfig.for_method('moco+mac')
    with pytest.raises(FileNotFoundError, match='dataset folder not found'): run_pretrain('ucf101', tmp_path / 'nowhere')
    with pytest.raises(ValueError, match='needs root'): dataset_from_name('hmdb51')
    with pytest.raises(ValueError, match="unknown dataset 'kinetics'"): dataset_from_name('kinetics', tmp_path)
    dls = video_dls(RandomClips(), bs=4)
    with pytest.raises(ValueError, match='needs clips of at least 8 frames of 32×32'):
        pretrain_learner(dls, 'moco', 'i3d', crop=24)          # the I3D stem cannot take 24² crops
    with pytest.raises(ValueError, match='n_frames divisible by n_sub=3'): pretrain_learner(dls, 'mac', 'tiny3d', crop=24, n_sub=3)
    with pytest.raises(ValueError, match='unknown PretrainConfig field'): pretrain_learner(dls, 'moco', 'tiny3d', temperature=0.1)

@pytest.fixture(scope='module')
def synth_root(tmp_path_factory):
    "SynthMotion `small`, generated once for this module."
    from mac_fame_be.synth import make_synthmotion
    return make_synthmotion(tmp_path_factory.mktemp('synth'), preset='small', progress=False)

TINY = dict(bs=8, n_frames=8, size=32, synth_preset='small', progress=False, queue_size=64)

def test_run_pretrain_resume(synth_root, tmp_path):
    "The entry point: a 2-epoch run equals a run stopped after epoch 1 and resumed from its checkpoint."
    torch.use_deterministic_algorithms(True)
    try:
        full = run_pretrain('synthmotion', synth_root, method='fame', epochs=2, out=tmp_path / 'full', **TINY)
        cut = run_pretrain('synthmotion', synth_root, method='fame', epochs=2, out=tmp_path / 'cut', cbs=[Interrupt()], **TINY)
        assert torch.load(cut, weights_only=False)['epoch'] == 1
        res = run_pretrain('synthmotion', synth_root, method='fame', epochs=2, out=tmp_path / 'cut', resume=cut, seed=0, **TINY)
    finally: torch.use_deterministic_algorithms(False)
    a, b = torch.load(full, weights_only=False), torch.load(res, weights_only=False)
    assert b['epoch'] == 2 and all(torch.equal(a['model'][k], b['model'][k]) for k in a['model'])
    assert (tmp_path / 'cut' / 'log.csv').read_text().count('epoch') == 1          # one header
    with pytest.raises(ValueError, match='configuration differs'):
        run_pretrain('synthmotion', synth_root, method='fame', epochs=3, out=tmp_path / 'x', resume=cut, **{**TINY, 'key_momentum': 0.5})
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        run_pretrain('synthmotion', synth_root, method='fame', epochs=2, out=tmp_path / 'x', resume=tmp_path / 'nope.pth', **TINY)

@pytest.mark.parametrize('method,extra', [('moco', {}), ('be', dict(be_consistency=True)),
                                          ('mac', dict(w_con=0.))])   # MAC pretext only: the authors' R(2+1)D UCF101 setting
def test_run_pretrain_methods(synth_root, tmp_path, method, extra):
    ck = run_pretrain('synthmotion', synth_root, method=method, epochs=1, out=tmp_path, **TINY, **extra)
    saved = torch.load(ck, weights_only=False)
    assert saved['config']['method'] == method and saved['config']['flip_p'] == 0.0       # SynthMotion: no flip
    log = (tmp_path / 'log.csv').read_text().splitlines()
    assert len(log) == 2 and log[0].startswith('epoch,train_loss,' + ('pretext,alpha_acc' if method == 'mac' else 'contrastive'))
    if method == 'be': assert 'consistency' in log[0]

def test_doctor(synth_root, capsys):
    tab = doctor('synthmotion', synth_root, method='mac', bs=8, steps=2, n_frames=8, size=32, synth_preset='small')
    assert list(tab.index) == list(STAGES) + ['total'] and tab.attrs['steps'] == 2 and tab.attrs['clips_per_s'] > 0
    assert 'clips/s' in capsys.readouterr().out

def test_finetune_and_linear(synth_root, tmp_path):
    ck = run_pretrain('synthmotion', synth_root, method='mac', epochs=1, out=tmp_path / 'pre', **TINY)
    kw = {k: v for k, v in TINY.items() if k != 'queue_size'}
    ft = run_finetune('synthmotion', synth_root, checkpoint=ck, epochs=1, out=tmp_path / 'ft', n_clips=2, **kw)
    assert 0 <= ft['clip_top1'] <= 1 and torch.load(ft['logits'])['logits'].shape == (ft['n_videos'], 2, 8)
    lin = run_linear('synthmotion', synth_root, checkpoint=ck, epochs=1, out=tmp_path / 'lin', n_clips=2, **kw)
    # the probe's backbone is the pretrained one, untouched (weights and BN statistics)
    pre, probed = backbone_from_checkpoint(ck).state_dict(), backbone_from_checkpoint(lin['checkpoint']).state_dict()
    assert all(torch.equal(pre[k], probed[k]) for k in pre)
    assert torch.load(ft['checkpoint'], weights_only=False)['arch'] == 'tiny3d'
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        run_linear('synthmotion', synth_root, checkpoint=tmp_path / 'missing.pth', **kw)


@pytest.mark.parametrize('method', ['moco', 'mac+fame', 'be'])
def test_backbone_prefix_is_pretrain_models_layout(tmp_path, method):
    "finetune finds the backbone where `pretrain.BACKBONE_PREFIX` says, and that is where `PretrainModel` keeps it."
    from mac_fame_be.pretrain import PretrainModel, BACKBONE_PREFIX
    from mac_fame_be.models import create_backbone
    torch.manual_seed(0)
    pm = PretrainModel(create_backbone('tiny3d'), PretrainConfig.for_method(method))
    assert [n + '.' for n, m in pm.named_modules() if m is pm.backbone] == [BACKBONE_PREFIX]
    torch.save(dict(model=pm.state_dict(), arch='tiny3d'), tmp_path / 'ck.pth')
    got, want = backbone_from_checkpoint(tmp_path / 'ck.pth').state_dict(), pm.backbone.state_dict()
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)


def test_combination_order_does_not_matter():
    "A combination's defaults merge its parts' recipes in `order`: the order of the names changes nothing but the name."
    from itertools import permutations
    for parts in (('mac', 'fame'), ('fame', 'be'), ('mac', 'be'), ('mac', 'fame', 'be')):
        cfgs = [PretrainConfig.for_method('+'.join(p)).to_dict() for p in permutations(parts)]
        assert all({**c, 'method': ''} == {**cfgs[0], 'method': ''} for c in cfgs), parts
    # the combinations the reference runs and the benchmark use keep the shared settings they had (MAC's, FAME's)
    assert (PretrainConfig.for_method('fame+mac').tau, PretrainConfig.for_method('be+fame').tau) == (0.2, 0.1)


def test_a_registered_method_needs_nothing_else(tmp_path):
    "A `Method` registered from outside the package: its parameter is a configuration field (checked), its name is "
    "accepted alone and in a combination, its view trains, and the CLI's help lists it."
    from mac_fame_be.methods import Method, Param, register_method, METHOD_REGISTRY, at_least
    from mac_fame_be.cli import _methods_help

    @register_method
    class Shift(Method):
        "Toy: the query rolls by `shift_px` pixels."
        name, order, between = 'shift', 5, True
        params = dict(shift_px=Param(2, 'pixels', at_least(0)))
        def query_view(self, x): return x.roll(self.cfg.shift_px, -1), None
    try:
        assert PretrainConfig.for_method('shift', shift_px=3).to_dict()['shift_px'] == 3
        with pytest.raises(ValueError, match='shift_px must be >= 0, got -1'): PretrainConfig.for_method('shift', shift_px=-1)
        assert PretrainConfig.for_method('shift+mac').replace(method='mac+shift') == PretrainConfig.for_method('mac+shift')
        assert 'shift' in _methods_help('moco') % {}
        torch.manual_seed(0)
        learn = pretrain_learner(video_dls(RandomClips(), bs=4), 'mac+shift', 'tiny3d', crop=24, queue_size=8, epochs=1)
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
        assert [type(m).__name__ for m in learn.model.methods] == ['MoCoMethod', 'MAC', 'Shift']
        assert np.isfinite(learn.recorder.values[-1]).all()
    finally:
        del METHOD_REGISTRY['shift']
    assert 'shift' not in _methods_help('moco') % {} and 'shift_px' not in PretrainConfig().to_dict()
