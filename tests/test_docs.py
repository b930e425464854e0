"""The docs build's notebook processing (what `nbdev_docs` runs before Quarto) succeeds on every notebook, and every
page renders to HTML with no error output, no broken local link and no missing image. The screenshots in headless
Chromium are left to `python tools/docs_check.py` (it needs the browser)."""
import os, subprocess, sys
import pytest
from pathlib import Path

pytestmark = pytest.mark.dev   # needs the source tree and the development tools
ROOT = Path(__file__).resolve().parents[1]

def test_docs_pages(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs_check.py'), '--no-browser', '--out', str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    nbs = sorted(p.stem for p in (ROOT/'nbs').glob('*.ipynb'))
    assert sorted(p.stem for p in tmp_path.glob('*.html')) == nbs

def test_docs_commands_without_quarto_say_so_and_install_nothing(tmp_path):
    "Without Quarto, `tools/docs.py docs|preview` print one line and exit 2; sudo and pip are never called."
    fake = tmp_path/'bin'; fake.mkdir()
    log = tmp_path/'called.txt'
    for name in ['sudo', 'pip', 'pip3', 'curl', 'wget']:   # record any attempt to install
        (fake/name).write_text(f'#!/bin/sh\necho {name} "$@" >> {log}\n'); (fake/name).chmod(0o755)
    env = {**os.environ, 'PATH': f'{fake}:/usr/bin:/bin'}
    for cmd in ['docs', 'preview']:
        r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), cmd], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
        assert r.returncode == 2 and r.stdout == '', (r.returncode, r.stdout, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and f'nbdev_{cmd}' in lines[0] and 'Quarto is not installed' in lines[0], r.stderr
    assert not log.exists(), log.read_text()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), 'readme', '--check'], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and 'up to date' in r.stdout, r.stdout + r.stderr

def test_show_doc_signatures():
    "No documented name reads `(*args, **kwargs)` unless it is defined so (a NamedTuple or an exception without `__init__` does)."
    import importlib, inspect, pkgutil, mac_fame_be
    from nbdev.showdoc import BasicMarkdownRenderer
    bad = []
    for m in pkgutil.iter_modules(mac_fame_be.__path__):
        if m.name.startswith('_'): continue
        mod = importlib.import_module(f'mac_fame_be.{m.name}')
        for name in getattr(mod, '__all__', []):
            o = getattr(mod, name)
            if not callable(o) or getattr(o, '__module__', '') != mod.__name__: continue
            sig = BasicMarkdownRenderer(o)._repr_markdown_().split('```')[1]
            own = str(inspect.signature(o)) if not inspect.isclass(o) else ''
            if '*args, **kwargs' in sig and '*args, **kwargs' not in own: bad.append(f'{m.name}.{name}')
    assert not bad, bad

def test_figures_readable():
    "Every figure a chapter draws reads on the docs site: dpi >= 100 and no text under 8 pt (dpi 45 made titles unreadable)."
    import json, re
    bad = []
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        for i, c in enumerate(json.loads(p.read_text())['cells']):
            if c['cell_type'] != 'code': continue
            src = ''.join(c['source'])
            bad += [f'{p.name} cell {i}: dpi {v}' for v in re.findall(r'\bdpi\s*(?::\s*int\s*)?=\s*(\d+)', src) if int(v) < 100]
            bad += [f'{p.name} cell {i}: fontsize {v}' for v in re.findall(r'\bfontsize\s*=\s*(\d+)', src) if int(v) < 8]
    assert not bad, bad
