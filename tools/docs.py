"""The docs commands, safe where Quarto is missing.

    python tools/docs.py docs|preview [nbdev options]   # nbdev_docs / nbdev_preview where Quarto is installed
    python tools/docs.py readme                         # README.md from nbs/index.ipynb (tools/make_readme.py)
    python tools/docs.py quarto [--check]               # nbs/_quarto.yml from the top-level _quarto.yml

The docs site's configuration has one source, the top-level `_quarto.yml`. nbdev 2 reads `nbs/_quarto.yml` (its
docs preprocessing copies it into `_proc/`), so that file is generated from the top-level one (`sync_quarto`, run
before every docs command here and by tools/docs_check.py) and a test checks it is current: no symlink (it broke
Windows clones), no hand-kept copy.

nbdev_docs, nbdev_preview and nbdev_readme need Quarto. Without it nbdev_docs tries `sudo` to install Quarto, then
runs `pip install -e ".[dev]"` (which would downgrade fastai and fastcore on Colab) and exits 127; nbdev_readme exits
127; nbdev_preview ends in a traceback. This wrapper checks first: without Quarto it says so in one line, installs
nothing and exits 2. The README never needs Quarto here: `readme` runs tools/make_readme.py.
"""
import shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NO_QUARTO = ("docs: Quarto is not installed, so nbdev_{cmd} cannot run here (nothing was installed); check the pages "
             "with `python tools/docs_check.py`, build the site where Quarto exists (the docs workflow)")

QUARTO_HEADER = '# generated from ../_quarto.yml by `python tools/docs.py quarto`: edit that file, not this one\n'

def sync_quarto(root=ROOT, check=False):
    "Write `nbs/_quarto.yml` from the top-level `_quarto.yml`. -> True when it was (check: would be) changed"
    src, dst = Path(root)/'_quarto.yml', Path(root)/'nbs'/'_quarto.yml'
    text = QUARTO_HEADER + src.read_text()
    if dst.exists() and dst.read_text() == text: return False
    if not check: dst.write_text(text)
    return True

def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in ('docs', 'preview', 'readme', 'quarto'):
        print('usage: python tools/docs.py docs|preview|readme|quarto [options]', file=sys.stderr); return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == 'quarto':
        stale = sync_quarto(check='--check' in rest)
        print('nbs/_quarto.yml is ' + ('out of date: run python tools/docs.py quarto' if stale and '--check' in rest
                                      else 'written from _quarto.yml' if stale else 'up to date'))
        return int(stale and '--check' in rest)
    sync_quarto()
    if cmd == 'readme': return subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), *rest], cwd=ROOT).returncode
    if shutil.which('quarto') is None:
        print(NO_QUARTO.format(cmd=cmd), file=sys.stderr); return 2
    exe = Path(sys.executable).parent/f'nbdev_{cmd}'
    return subprocess.run([str(exe) if exe.exists() else f'nbdev_{cmd}', *rest], cwd=ROOT).returncode

if __name__ == '__main__': sys.exit(main())
