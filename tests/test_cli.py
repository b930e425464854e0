"""The `mfb` console command as a user runs it: subcommands listed, bad arguments answered in one line."""
import subprocess, sys
from pathlib import Path
import pytest

MFB = Path(sys.executable).parent/'mfb'

def mfb(*args, cwd=None):
    return subprocess.run([str(MFB), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)

def test_help_lists_subcommands():
    r = mfb('--help')
    assert r.returncode == 0
    for c in ['synth', 'info', 'prepare', 'pretrain', 'finetune', 'linear', 'doctor', 'demo', 'bench']: assert c in r.stdout, c

def _one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    lines = [l for l in r.stderr.splitlines() if l.strip() and 'Warning' not in l]
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr
    for w in words: assert w in lines[0], lines[0]

@pytest.fixture(scope='module')
def synth_root(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth')/'synthmotion'
    r = mfb('synth', '--out', out, '--preset', 'small')
    assert r.returncode == 0, r.stderr
    roots = [p.parent for p in out.rglob('classInd.txt')]
    assert 'train' in r.stdout and len(roots) == 1, (r.stdout, roots)
    assert str(roots[0]) in r.stdout
    return roots[0]

def test_bad_arguments_give_one_line(synth_root, tmp_path):
    _one_line_error(mfb('pretrain', '--method', 'nope', '--root', synth_root, '--out', tmp_path), 'nope')
    _one_line_error(mfb('pretrain', '--dataset', 'ucf101', '--root', tmp_path/'missing'), 'missing')
    _one_line_error(mfb('pretrain', '--dataset', 'imagenet'), 'imagenet')
    _one_line_error(mfb('pretrain', '--arch', 's3d', '--root', synth_root, '--out', tmp_path, '--frames', '8', '--bs', '4'), 'S3D', '14 frames')
    _one_line_error(mfb('info', tmp_path/'nothing.mp4'), 'nothing.mp4')
    _one_line_error(mfb('finetune', '--checkpoint', tmp_path/'none.pth', '--root', synth_root), 'none.pth')
    r = mfb('pretrain', '--bs', 'many')            # argparse's own usage error: exit 2, no traceback
    assert r.returncode == 2 and 'Traceback' not in r.stderr

def test_info_on_video_and_folder(synth_root):
    r = mfb('info', synth_root)
    assert r.returncode == 0 and 'SynthMotion' in r.stdout
    video = next(synth_root.rglob('*.mp4'))
    r = mfb('info', video)
    assert r.returncode == 0 and 'n_frames' in r.stdout and 'width' in r.stdout

def test_synth_prints_the_whole_table(synth_root, capsys):
    "pandas shortens a wide table to the terminal's width ('[5 rows x 7 columns]'): the CLI prints all of it."
    import pandas as pd
    from mac_fame_be.cli import main
    with pd.option_context('display.max_columns', 3, 'display.width', 40):   # a narrow terminal
        main(['synth', '--out', str(synth_root.parent), '--preset', 'small'])
        main(['info', str(synth_root)])
    out = capsys.readouterr().out
    for col in ['videos', 'classes', 'families', 'own_family', 'static', 'min_per_class', 'max_per_class']:
        assert out.count(col) >= 2, (col, out)   # once in each table
    assert 'columns]' not in out and '...' not in out, out

def test_version_and_python_m():
    "`mfb --version`, and `python -m mac_fame_be` is `mfb` (the package's plain `__main__.py`)."
    from mac_fame_be import __version__
    r = mfb('--version')
    assert r.returncode == 0 and r.stdout.strip() == f'mfb {__version__} (mac_fame_be)', r.stdout + r.stderr
    r = subprocess.run([sys.executable, '-m', 'mac_fame_be', '--version'], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip() == f'mfb {__version__} (mac_fame_be)', r.stdout + r.stderr
    r = subprocess.run([sys.executable, '-m', 'mac_fame_be', 'pretrain', '--bs', '0'], capture_output=True, text=True, timeout=600)
    _one_line_error(r, '--bs', 'an int >= 1')

def test_help_texts():
    "Every option of every subcommand has help; a literal % prints as one %."
    import argparse, contextlib, io
    from mac_fame_be.cli import build_parser
    p = build_parser()
    subs = p._subparsers._group_actions[0].choices
    missing = [f'{name} {a.option_strings or a.dest}' for name, sp in subs.items() for a in sp._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == []
    for name, sp in subs.items():
        text = sp.format_help()
        assert '%%' not in text and '%(' not in text, (name, text)
    flat = lambda t: ' '.join(t.split())                # argparse wraps lines
    assert '95% interval' in flat(subs['bench'].format_help()) and '95% interval' in flat(p.format_help())
    assert 'random seed of the run' in flat(subs['pretrain'].format_help())
    r = mfb('bench', '--help')
    assert r.returncode == 0 and '95%' in r.stdout and '95%%' not in r.stdout
