"""The repository's own promises: README generated from index.ipynb, the quickstart's two commands, the
_quarto.yml link, the CI script using the README's commands."""
import configparser, os, re, subprocess, sys
import pytest
from pathlib import Path

pytestmark = pytest.mark.dev   # needs the source tree and the development tools
ROOT = Path(__file__).resolve().parents[1]

def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def _quickstart():
    text = (ROOT/'README.md').read_text()
    m = re.search(r'## Quickstart.*?```sh\n(.*?)```', text, re.S)
    assert m, 'README has no Quickstart sh block'
    return [l for l in m.group(1).splitlines() if l.strip()]

def test_readme_quickstart_has_two_commands_and_ci_uses_them():
    cmds = _quickstart()
    assert len(cmds) == 2, cmds
    install, test = cmds
    assert 'pip install -e ".[dev]"' in install and 'mfb ' in install
    ci = (ROOT/'.ci'/'run').read_text()
    assert test.strip() in ci, f'.ci/run does not run the README test command {test!r}'
    assert 'pip install -q -e ".[dev]"' in ci or 'pip install -e ".[dev]"' in ci

def test_quarto_config_is_one_file_linked_from_nbs():
    link = ROOT/'nbs'/'_quarto.yml'
    assert link.is_symlink() and os.readlink(link) == '../_quarto.yml'
    assert link.read_text() == (ROOT/'_quarto.yml').read_text()

def test_settings():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    d = cfg['DEFAULT']
    assert d['lib_name'] == 'mac_fame_be' and d['tst_flags'].split() == ['slow', 'gpu']
    assert 'mfb=mac_fame_be.cli:main' in d['console_scripts']
    assert all(p in d['dev_requirements'] for p in ['nbdev==2.4.14', 'execnb<0.2', 'fastcore<2', 'fastai==2.8.7', 'plum-dispatch<2.10'])

def test_every_notebook_is_in_the_sidebar():
    side = (ROOT/'nbs'/'sidebar.yml').read_text()
    for nb in (ROOT/'nbs').glob('*.ipynb'): assert nb.name in side, f'{nb.name} missing from nbs/sidebar.yml'

def test_every_notebook_opens_in_colab():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'nb_colab.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
