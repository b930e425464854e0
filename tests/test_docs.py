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
