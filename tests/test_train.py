"""The one run loop (`train.train`) outside the chapter: a folder holds one run, what `config.json` records, the
loggers (present and missing), the one SGD setup, crop and silence, and that every entry point ends in `train`."""
import json, sys
from functools import partial
from pathlib import Path
import pytest, torch
from torch import nn
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.losses import CrossEntropyLossFlat
from fastai.torch_core import set_seed
from mac_fame_be import train as tr, steps as st

def toy_learner(lr=0.1):
    "A linear classifier of two Gaussian blobs: the smallest learner with a validation set, a metric and the non-finite stop."
    g = torch.Generator().manual_seed(0)
    y = torch.arange(48) % 2
    x = torch.randn(48, 2, generator=g) + 1.5 * (2 * y[:, None] - 1)
    items = list(zip(x, y))
    dls = DataLoaders(DataLoader(items[:32], bs=8, shuffle=True, drop_last=True), DataLoader(items[32:], bs=16), device='cpu')
    learn = tr.ResumableLearner(dls, nn.Linear(2, 2), loss_func=CrossEntropyLossFlat(), opt_func=st.partial_sgd(0.9), lr=lr,
                                cbs=[st.StopOnNonFinite()])
    learn.cfg = dict(lr=lr, epochs=2)
    return learn

def run(out, epochs=2, **kw):
    set_seed(0)
    return tr.train(toy_learner(), out, epochs, run=dict(kind='toy'), progress=False, **kw)

def test_a_folder_holds_one_run(tmp_path):
    out = tmp_path/'run'
    ck = run(out, save_every=1)
    assert sorted(p.name for p in out.iterdir()) == ['checkpoint.pth', 'config.json', 'epoch_1.pth', 'epoch_2.pth', 'log.csv']
    with pytest.raises(ValueError) as e: run(out)
    msg = str(e.value)
    assert '\n' not in msg and f"out '{out}' already holds another run" in msg and '--resume' in msg and '--overwrite' in msg
    with pytest.raises(ValueError, match='is not in it'): run(out, resume=tmp_path/'elsewhere'/'checkpoint.pth')
    (out/'notes.txt').write_text('the user\'s')
    run(out, epochs=1, overwrite=True)                       # the old run's files go (epoch_2.pth too), the user's stay
    assert sorted(p.name for p in out.iterdir()) == ['checkpoint.pth', 'config.json', 'log.csv', 'notes.txt']
    assert tr.read_checkpoint(ck)['n_epoch'] == 1
    run(out, epochs=3, resume=ck)                            # continuing the run the folder holds is allowed
    assert [l.split(',')[0] for l in (out/'log.csv').read_text().splitlines()] == ['epoch', '0', '1', '2']
    (tmp_path/'empty').mkdir(); (tmp_path/'empty'/'.DS_Store').write_text('')
    run(tmp_path/'empty')                                    # an empty folder (hidden files aside) takes a run
    with pytest.raises(ValueError, match='give one of them'): run(out, resume=ck, overwrite=True)
    (tmp_path/'mine').mkdir(); (tmp_path/'mine'/'data.csv').write_text('')
    with pytest.raises(ValueError, match=r"holds another run \(data.csv\): it has no checkpoint.pth to --resume: choose an empty folder, or replace it with --overwrite"):
        run(tmp_path/'mine')

def test_config_json_records_versions(tmp_path):
    run(tmp_path/'run', config=dict(lr=0.1, epochs=2, command='mfb x --y', root='/data/ucf101'))
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert cfg['command'] == 'mfb x --y' and cfg['root'] == '/data/ucf101'
    import torchvision, fastai, av, mac_fame_be
    assert cfg['versions'] == dict(mac_fame_be=mac_fame_be.__version__, python=cfg['versions']['python'], torch=torch.__version__,
                                   torchvision=torchvision.__version__, fastai=fastai.__version__, av=av.__version__)
    assert tr.dataset_root('synthmotion', None) == str(Path('data').absolute())
    assert tr.dataset_root('ucf101', 'x') == str(Path('x').absolute())

def test_tensorboard_logger(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    run(tmp_path/'run', logger='tensorboard')
    ea = EventAccumulator(str(tmp_path/'run'/'tensorboard')); ea.Reload()
    assert {'train_loss', 'valid_loss', 'lr_0'} <= set(ea.Tags()['scalars'])
    assert len(ea.Scalars('valid_loss')) == 2                                   # one point per epoch
    assert (tmp_path/'run'/'log.csv').exists()                                  # the CSV log is always written

@pytest.mark.parametrize('logger, module', [('tensorboard', 'tensorboard'), ('wandb', 'wandb')])
def test_missing_logger_package_is_one_line(tmp_path, monkeypatch, logger, module):
    monkeypatch.setitem(sys.modules, module, None)                              # as if not installed
    monkeypatch.delitem(sys.modules, f'fastai.callback.{logger}', raising=False)
    with pytest.raises(ValueError) as e: tr.open_run(tmp_path/'run', logger=logger)
    assert str(e.value) == (f"--logger {logger} needs the {module} package, which is not installed: "
                            f"pip install 'mac_fame_be[{logger}]'")
    with pytest.raises(ValueError, match='needs the'): run(tmp_path/'run', logger=logger)
    assert not (tmp_path/'run').exists()                                        # refused before anything is written
    with pytest.raises(ValueError, match="logger must be one of csv, tensorboard, wandb, got 'mlflow'"): tr.open_run(tmp_path, logger='mlflow')

def test_progress_false_is_silent(tmp_path, capsys):
    run(tmp_path/'run')
    assert capsys.readouterr().out == ''
    learn = toy_learner()
    with tr.quietly(learn, quiet=False): pass                                  # quiet=False leaves the learner as it was
    assert learn.logger is print

def test_one_sgd_setup_one_crop_clamp():
    from mac_fame_be.pretrain import PretrainConfig
    from mac_fame_be.finetune import linear_probe_learner
    sgd = st.opt_func(PretrainConfig.for_method('moco', mom=0.8))
    assert sgd.keywords == st.partial_sgd(0.8).keywords == dict(mom=0.8, decouple_wd=False)
    class DS:
        size, frame_crop = 32, None
    assert tr.fit_crop(DS()) == 32 and tr.fit_crop(DS(), 16) == 16
    DS.size = 128
    assert tr.fit_crop(DS()) == 112
    with pytest.raises(ValueError, match='mom must be a finite number in'): tr.check_run_args(mom=1.5)
    with pytest.raises(ValueError, match='epochs must be an int >= 1, got 0'): tr.check_run_args(epochs=0)

def test_entry_points_end_in_train(tmp_path, monkeypatch):
    "`run_pretrain`, `run_finetune` and `run_linear` all hand their learner to `train.train` (stopped there: no training)."
    import mac_fame_be.pretrain as pt, mac_fame_be.finetune as ft
    calls = []
    class Stop(Exception): pass
    def fake_train(learn, out, epochs, **kw):
        calls.append((type(learn.model).__name__, Path(out).name, epochs, kw['run']['kind'], sorted(kw['config'])))
        raise Stop
    monkeypatch.setattr(pt, 'train', fake_train); monkeypatch.setattr(ft, 'train', fake_train)
    tiny = dict(n_frames=8, size=32, synth_preset='small', progress=False, epochs=1, bs=8)
    for f, out in ((pt.run_pretrain, 'pre'), (ft.run_finetune, 'ft'), (ft.run_linear, 'lin')):
        with pytest.raises(Stop): f('synthmotion', tmp_path/'data', out=tmp_path/out, **tiny)
    assert [c[:4] for c in calls] == [('PretrainModel', 'pre', 1, 'pretrain'), ('VideoClassifier', 'ft', 1, 'finetune'),
                                      ('LinearProbe', 'lin', 1, 'linear')]
    for c in calls: assert {'command', 'root', 'dataset', 'arch', 'kind'} <= set(c[4])

def test_only_rank_0_checks_the_folder(tmp_path, monkeypatch):
    "Under a distributed launcher the other ranks do not refuse the folder rank 0 has started writing."
    run(tmp_path/'run')
    monkeypatch.setattr(tr, 'rank_distrib', lambda: 1)
    assert tr.check_run_out(tmp_path/'run') == tmp_path/'run'
