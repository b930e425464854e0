"""The `mfb` command under faults a user causes: kill -9 and `--resume`, bad numbers, bad files, a full disk.
Each error is one line on stderr with exit status 2; a killed run resumes from the command line."""
import errno, json, os, pty, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch
from mac_fame_be.cli import main
from mac_fame_be import pretrain as pt
from mac_fame_be.train import read_checkpoint

MFB = Path(sys.executable).parent/'mfb'
TINY = ['--frames', '8', '--size', '32', '--set', 'queue_size=64']   # SynthMotion small at 8 frames of 32×32

def mfb(*args, **kw):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([str(MFB), *map(str, args)], capture_output=True, text=True, timeout=300, env=env, **kw)

def _one_line(rc, err, *words):
    assert rc == 2, (rc, err[-2000:])
    lines = [l for l in err.splitlines() if l.strip() and 'Warning' not in l and 'warnings.warn' not in l]
    assert len(lines) == 1 and 'Traceback' not in err, err
    for w in words: assert w in lines[0], lines[0]
    return lines[0]

def run_main(capsys, *args):
    "`mfb ARGS` in this process: (exit status, stdout, stderr); argparse's refusals exit before anything runs."
    try: rc = main([str(a) for a in args])
    except SystemExit as e: rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err

@pytest.fixture(scope='module')
def synth_root(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth')
    r = mfb('synth', '--preset', 'small', '--out', out)
    assert r.returncode == 0, r.stderr
    assert '█' not in r.stdout and 'SynthMotion: 48/48' in r.stdout   # plain progress lines in a pipe
    return next(out.glob('*/classInd.txt')).parent

def _epochs(log):
    return [int(l.split(',')[0]) for l in Path(log).read_text().splitlines()[1:]]

def _ck_epoch(path):
    try: return torch.load(path, weights_only=False)['epoch']   # our own file (read_checkpoint is tested below)
    except Exception: return None   # not written yet

@pytest.fixture(scope='module')
def killed_run(synth_root, tmp_path_factory):
    "`mfb pretrain` for 5 epochs, killed with SIGKILL as soon as its checkpoint says epoch 2 is under way."
    out = tmp_path_factory.mktemp('killed')/'run'
    cmd = [str(MFB), 'pretrain', '--root', synth_root, *TINY, '--epochs', '5', '--bs', '4', '--out', out]
    p = subprocess.Popen(list(map(str, cmd)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    ck, t0 = out/'checkpoint.pth', time.monotonic()
    while _ck_epoch(ck) != 2:
        assert p.poll() is None and time.monotonic() - t0 < 240, 'the run ended before its third epoch'
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL and 2 <= _ck_epoch(ck) < 5
    return cmd, out

def _resume_copy(killed_run, dst):
    "A copy of the killed run whose log also holds the row of the epoch the kill cut (killed after its log line)."
    cmd, out = killed_run
    shutil.copytree(out, dst)
    done = _ck_epoch(dst/'checkpoint.pth')
    log = dst/'log.csv'
    keep = [l for l in log.read_text().splitlines() if not l.startswith(f'{done},')]
    log.write_text('\n'.join(keep + [f'{done},9.9,9.9,00:00']) + '\n')
    return [str(c) if c != out else str(dst) for c in cmd] + ['--resume', str(dst/'checkpoint.pth')], done

def test_resume_with_progress_bar_in_a_terminal(killed_run, tmp_path):
    "Resume on a terminal (fastai's redrawn bars), in-process loading: finishes, one log row per epoch."
    cmd, done = _resume_copy(killed_run, tmp_path/'run')
    mfd, sfd = pty.openpty()
    r = subprocess.run(cmd + ['--workers', '0'], stdout=sfd, stderr=sfd, env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300)
    os.close(sfd)
    text = b''
    while True:
        try: chunk = os.read(mfd, 1 << 16)
        except OSError: break
        if not chunk: break
        text += chunk
    os.close(mfd)
    text = text.decode(errors='replace')
    assert r.returncode == 0, text[-3000:]
    assert f'at epoch {done} of 5' in text and '█' in text and 'Traceback' not in text
    assert _epochs(tmp_path/'run'/'log.csv') == [0, 1, 2, 3, 4]
    assert '9.9,' not in (tmp_path/'run'/'log.csv').read_text()
    assert _ck_epoch(tmp_path/'run'/'checkpoint.pth') == 5

def test_resume_with_workers_in_a_log(killed_run, tmp_path):
    "Resume with a worker process, stdout a pipe: plain lines, no bar fragments; then extend it to 7 epochs."
    cmd, done = _resume_copy(killed_run, tmp_path/'run')
    r = mfb(*cmd[1:], '--workers', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'at epoch {done} of 5' in r.stdout and '█' not in r.stdout + r.stderr
    rows = [l for l in r.stdout.splitlines() if l[:1].isdigit()]
    assert [int(l.split()[0]) for l in rows] == list(range(done, 5))        # one plain line per epoch
    assert _epochs(tmp_path/'run'/'log.csv') == [0, 1, 2, 3, 4]
    # the run is complete: resuming it again needs more epochs, and more epochs extend it
    again = [c for c in cmd[1:] if c != '--epochs' and c != '5']
    _one_line(*(lambda r: (r.returncode, r.stderr))(mfb(*again, '--epochs', '5')), 'already trained 5 epochs', '--epochs')
    r = mfb(*again, '--epochs', '7')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'extending the run from 5 to 7 epochs' in r.stdout
    assert _epochs(tmp_path/'run'/'log.csv') == list(range(7)) and _ck_epoch(tmp_path/'run'/'checkpoint.pth') == 7

@pytest.mark.parametrize('args, words', [
    (['pretrain', '--bs', '0'], ['--bs', 'an int >= 1', "'0'"]),
    (['pretrain', '--lr', 'inf'], ['--lr', 'a number > 0', "'inf'"]),
    (['pretrain', '--workers', '-1'], ['--workers', 'an int >= 0']),
    (['finetune', '--epochs', '-3'], ['--epochs', 'an int >= 1', "'-3'"]),
    (['linear', '--lr', '-1'], ['--lr', 'a number > 0']),
    (['linear', '--size', 'big'], ['--size', 'an int >= 1', "'big'"]),
    (['doctor', '--steps', '0'], ['--steps']),
    (['bench', '--seeds', '0'], ['--seeds']),
    (['demo', '--threads', '0'], ['--threads']),
    (['synth', '--seed', '-1'], ['--seed']),
])
def test_numeric_options_refused_before_anything_runs(capsys, args, words):
    _one_line(*run_main(capsys, *args)[::2], *words)

def test_bad_values_one_line(capsys, synth_root, tmp_path):
    common = ['--root', synth_root, *TINY, '--epochs', '1']
    f = tmp_path/'a_file'; f.write_text('not a folder')
    cases = [(['--device', 'tpu'], ['device', "'tpu'"]),
             (['--set', 'n_sub=0', '--method', 'mac'], ['n_sub must be >= 1, got 0']),
             (['--set', 'tau=abc'], ['tau must be a finite number', "'abc'"]),
             (['--method', 'be', '--set', 'gamma=2'], ['gamma must be in [0, 1], got 2']),
             (['--out', f], ['--out', 'is a file']),
             (['--out', f/'sub'], ['--out', 'cannot be created', 'is a file']),
             (['--resume', f], ['not a readable checkpoint'])]
    for extra, words in cases:
        out = ['--out', tmp_path/'run'] if '--out' not in extra else []
        rc, so, err = run_main(capsys, 'pretrain', *common, *out, *extra)
        _one_line(rc, err, *words)
        assert not (tmp_path/'run').exists()             # refused before anything is created
    assert run_main(capsys, 'finetune', '--root', synth_root, '--out', f)[0] == 2

def test_resume_checks_the_checkpoint(capsys, synth_root, tmp_path):
    "A checkpoint of another method, or of a linear probe, is refused by name before any data is read."
    common = ['--root', synth_root, *TINY, '--epochs', '2', '--bs', '8']
    rc, so, err = run_main(capsys, 'pretrain', *common, '--method', 'mac', '--out', tmp_path/'mac')
    assert rc == 0, err
    assert 'bs:' not in so
    ck = tmp_path/'mac'/'checkpoint.pth'
    _one_line(*run_main(capsys, 'pretrain', *common, '--out', tmp_path/'moco', '--resume', ck)[::2], "method='mac'", "method='moco'")
    rc, so, err = run_main(capsys, 'linear', '--root', synth_root, '--frames', '8', '--size', '32', '--epochs', '1',
                           '--out', tmp_path/'lin')
    assert rc == 0, err
    assert 'using bs=16' in so      # the default batch size 32 does not fit the 16 videos of the small preset: said, and used
    _one_line(*run_main(capsys, 'pretrain', *common, '--out', tmp_path/'x', '--resume', tmp_path/'lin'/'checkpoint.pth')[::2],
              "kind='linear'")

def test_non_finite_loss_message_is_whole(capsys, synth_root, tmp_path):
    "fastai wraps a callback's error; the CLI prints the library's message, not the wrapper's first line."
    rc, so, err = run_main(capsys, 'pretrain', '--root', synth_root, *TINY, '--epochs', '1', '--bs', '8', '--set', 'w_con=1e308',
                           '--out', tmp_path/'nan')
    line = _one_line(rc, err, 'non-finite loss', 'epoch 0, batch 0')
    assert 'Exception occured' not in line

def test_full_disk(capsys, synth_root, tmp_path, monkeypatch):
    "A full disk while the checkpoint is written: one line saying so, no `.tmp` left, the previous checkpoint kept."
    real_save, calls = torch.save, []
    def save(obj, f, *a, **kw):
        calls.append(1)
        if len(calls) == 1: return real_save(obj, f, *a, **kw)
        f.write(b'partial'); raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(pt.torch, 'save', save)
    rc, so, err = run_main(capsys, 'pretrain', '--root', synth_root, *TINY, '--epochs', '3', '--bs', '8', '--out', tmp_path/'run')
    _one_line(rc, err, 'no space left', 'checkpoint.pth')
    assert sorted(p.name for p in (tmp_path/'run').iterdir()) == ['checkpoint.pth', 'config.json', 'log.csv']
    assert _ck_epoch(tmp_path/'run'/'checkpoint.pth') == 1

def test_checkpoints_load_as_tensors_only(synth_root, tmp_path):
    "Checkpoints are read with `weights_only=True`; one that needs code to unpickle is refused, not run."
    ck = pt.run_pretrain('synthmotion', synth_root, n_frames=8, size=32, epochs=1, bs=8, out=tmp_path/'run', progress=False,
                         queue_size=64)
    assert read_checkpoint(ck)['epoch'] == 1
    class Evil:
        def __reduce__(self): return (os.system, ('echo pwned',))
    torch.save({'model': {}, 'x': Evil()}, tmp_path/'evil.pth')
    with pytest.raises(ValueError, match='not a readable checkpoint'): read_checkpoint(tmp_path/'evil.pth')

def test_bench_log_has_no_bar_fragments(synth_root, tmp_path, capsys):
    "The benchmark with progress on, stdout not a terminal: its own lines, no (hidden) bars writing '█'."
    from mac_fame_be.benchmark import bench
    bench(seeds=1, methods=('random', 'moco'), out=tmp_path, root=synth_root, progress=True, epochs=1, bs=8, n_clips=2, sup_steps=2)
    out = capsys.readouterr().out
    assert 'moco seed 0' in out and '█' not in out

RUN = ['--frames', '8', '--size', '32', '--epochs', '1', '--bs', '8']

def test_out_holding_a_run_is_refused(capsys, synth_root, tmp_path):
    "A second run into a folder that holds one is refused in one line naming the folder and both ways out."
    pre = tmp_path/'pre'
    rc, so, err = run_main(capsys, 'pretrain', '--root', synth_root, *RUN, '--set', 'queue_size=64', '--out', pre)
    assert rc == 0, err
    before = (pre/'checkpoint.pth').read_bytes()
    for cmd in (['pretrain', '--set', 'queue_size=64'], ['finetune'], ['linear']):   # a finetune into its pretraining folder too
        line = _one_line(*run_main(capsys, *cmd[:1], '--root', synth_root, *RUN, *cmd[1:], '--out', pre)[::2],
                         f"out '{pre}' already holds another run", '--resume', '--overwrite')
    assert (pre/'checkpoint.pth').read_bytes() == before and not (pre/'test_logits.pt').exists()
    _one_line(*run_main(capsys, 'linear', '--root', synth_root, *RUN, '--checkpoint', pre/'checkpoint.pth', '--out', pre,
                        '--overwrite')[::2], '--overwrite would delete the checkpoint')   # the checkpoint it starts from
    rc, so, err = run_main(capsys, 'pretrain', '--root', synth_root, *RUN, '--set', 'queue_size=64', '--out', pre, '--overwrite')
    assert rc == 0, err

def test_config_json_and_config_files(capsys, synth_root, tmp_path):
    "config.json records the command line, dataset root and versions, and is accepted back by --config (as is YAML)."
    rc, so, err = run_main(capsys, 'linear', '--root', synth_root, *RUN, '--out', tmp_path/'a')
    assert rc == 0, err
    cfg = json.loads((tmp_path/'a'/'config.json').read_text())
    assert cfg['command'] == f"mfb linear --root {synth_root} {' '.join(RUN)} --out {tmp_path/'a'}"
    assert cfg['root'] == str(Path(synth_root).absolute())
    assert set(cfg['versions']) == {'mac_fame_be', 'python', 'torch', 'torchvision', 'fastai', 'av'}
    rc, so, err = run_main(capsys, 'linear', '--config', tmp_path/'a'/'config.json', '--out', tmp_path/'b')   # the same run again
    assert rc == 0, err
    again = json.loads((tmp_path/'b'/'config.json').read_text())
    assert {k: v for k, v in again.items() if k != 'command'} == {k: v for k, v in cfg.items() if k != 'command'}
    top1 = lambda d: torch.load(d/'test_logits.pt')['logits']
    assert torch.allclose(top1(tmp_path/'a'), top1(tmp_path/'b'), atol=1e-4)
    y = tmp_path/'run.yaml'
    y.write_text(f"root: {synth_root}\nn_frames: 8\nsize: 32\nepochs: 1\nbs: 8\nlr: 1e-2\nqueue_size: 64\nmethod: mac\n")
    rc, so, err = run_main(capsys, 'pretrain', '--config', y, '--out', tmp_path/'c', '--set', 'tau=0.3')
    assert rc == 0, err
    c = json.loads((tmp_path/'c'/'config.json').read_text())
    assert (c['lr'], c['queue_size'], c['method'], c['n_frames'], c['tau']) == (0.01, 64, 'mac', 8, 0.3)   # --set wins over the file
    rc, so, err = run_main(capsys, 'pretrain', '--config', y, '--out', tmp_path/'d', '--epochs', '2', '--method', 'moco')
    assert rc == 0, err
    d = json.loads((tmp_path/'d'/'config.json').read_text())
    assert (d['epochs'], d['method']) == (2, 'moco')                     # options on the command line win over the file
    _one_line(*run_main(capsys, 'pretrain', '--config', tmp_path/'a'/'config.json', '--out', tmp_path/'e')[::2],
              'the configuration of a linear run, not of mfb pretrain')
    bad = tmp_path/'bad.yaml'; bad.write_text('root: [unclosed\n')
    _one_line(*run_main(capsys, 'pretrain', '--config', bad, '--out', tmp_path/'e')[::2], f'--config {bad}: not valid YAML')
    _one_line(*run_main(capsys, 'linear', '--config', tmp_path/'nope.json', '--out', tmp_path/'e')[::2], 'nope.json: no such file')
    k = tmp_path/'k.json'; k.write_text(json.dumps(dict(root=str(synth_root), dropout=0.3)))
    _one_line(*run_main(capsys, 'linear', '--config', k, '--out', tmp_path/'e')[::2], "unknown option(s) ['dropout'] for mfb linear")
    assert not (tmp_path/'e').exists()

def test_logger_option(capsys, synth_root, tmp_path):
    "--logger tensorboard writes event files beside log.csv; a logger whose package is missing is one line, before any data."
    try: import wandb  # noqa: F401
    except ImportError:
        _one_line(*run_main(capsys, 'linear', '--root', synth_root, *RUN, '--out', tmp_path/'w', '--logger', 'wandb')[::2],
                  '--logger wandb needs the wandb package', "pip install 'mac_fame_be[wandb]'")
        assert not (tmp_path/'w').exists()
    pytest.importorskip('tensorboard')
    rc, so, err = run_main(capsys, 'finetune', '--root', synth_root, *RUN, '--out', tmp_path/'tb', '--logger', 'tensorboard')
    assert rc == 0, err
    assert list((tmp_path/'tb'/'tensorboard').glob('events.out.tfevents.*')) and (tmp_path/'tb'/'log.csv').exists()

def test_checkpoint_of_another_backbone(capsys, synth_root, tmp_path):
    "--arch plain3d with a tiny3d checkpoint: one line naming both architectures, before any data is read."
    rc, so, err = run_main(capsys, 'pretrain', '--root', synth_root, *RUN, '--set', 'queue_size=64', '--out', tmp_path/'pre')
    assert rc == 0, err
    for cmd in ('finetune', 'linear'):
        _one_line(*run_main(capsys, cmd, '--root', synth_root, *RUN, '--arch', 'plain3d', '--checkpoint', tmp_path/'pre'/'checkpoint.pth',
                            '--out', tmp_path/cmd)[::2], 'holds a tiny3d backbone, not plain3d')
        assert not (tmp_path/cmd).exists()
    from mac_fame_be.finetune import backbone_from_checkpoint
    with pytest.raises(ValueError, match='holds a tiny3d backbone, whose weights do not fit plain3d') as e:
        backbone_from_checkpoint(tmp_path/'pre'/'checkpoint.pth', 'plain3d')
    assert '\n' not in str(e.value)

@pytest.mark.parametrize('cmd', ['finetune', 'linear'])
def test_finetune_and_linear_resume(capsys, synth_root, tmp_path, cmd):
    "`mfb finetune|linear --resume`: a run stopped after its first epoch continues to the end, one log row per epoch."
    out = tmp_path/'run'
    rc, so, err = run_main(capsys, cmd, '--root', synth_root, *RUN, '--out', out)
    assert rc == 0, err
    rc, so, err = run_main(capsys, cmd, '--root', synth_root, *RUN[:-4], '--epochs', '2', '--bs', '8', '--out', out,
                           '--resume', out/'checkpoint.pth')
    assert rc == 0, err
    assert 'at epoch 1 of 2' in so and _epochs(out/'log.csv') == [0, 1] and _ck_epoch(out/'checkpoint.pth') == 2
    _one_line(*run_main(capsys, cmd, '--root', synth_root, *RUN[:-4], '--epochs', '2', '--bs', '8', '--out', out,
                        '--resume', out/'checkpoint.pth')[::2], 'already trained 2 epochs')

def test_torn_results_line(synth_root, tmp_path, capsys):
    "A results.jsonl whose last line a full disk cut short: named with its line, removed, the benchmark continues."
    from mac_fame_be.benchmark import bench
    from mac_fame_be.report import read_results
    kw = dict(seeds=1, methods=('random',), out=tmp_path, root=synth_root, progress=False, show=False, n_clips=2, bs=8)
    bench(**kw)
    f = tmp_path/'results.jsonl'
    row = f.read_text()
    f.write_text(row + row[:len(row) // 2])                   # a second row, torn
    with pytest.warns(UserWarning, match=f'{f}, line 2: a torn'): assert len(read_results(tmp_path)) == 1
    bench(**{**kw, 'seeds': 2})
    assert f'{f}, line 2: a torn (half-written) last line, removed' in capsys.readouterr().out
    assert list(read_results(tmp_path)['seed']) == [0, 1]
    f.write_text(row[:40] + '\n' + row)
    with pytest.raises(ValueError, match=f'{f}, line 1: not a JSON row'): read_results(tmp_path)
# --- issue 25: --set scale / crop on small frames, doctor --out -----------------------------------------------------------
def test_set_scale_and_crop_refused_in_one_line(capsys, synth_root, tmp_path):
    for opt, words in [('scale=(0.5,)', ('scale must be a pair', '(0.5,)')), ('crop=1000', ('crop=1000', 'short side (32 pixels)'))]:
        rc, out, err = run_main(capsys, 'pretrain', '--root', synth_root, *TINY, '--epochs', '1', '--set', opt,
                                '--device', 'cpu', '--out', tmp_path / opt.split('=')[0])
        _one_line(rc, err, *words)

def test_doctor_out_kept_and_no_temporary_folder_left(synth_root, tmp_path):
    tmp = tmp_path / 'tmp'; tmp.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS='1', TMPDIR=str(tmp))
    r = subprocess.run([str(MFB), 'doctor', '--root', synth_root, *TINY[:4], '--bs', '4', '--steps', '1', '--device', 'cpu',
                        '--out', tmp_path / 'doc'], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / 'doc' / 'doctor.csv').is_file() and 'clips/s' in r.stdout
    assert not [p for p in tmp.iterdir() if p.name.startswith('mfb-doctor-')], list(tmp.iterdir())
