"""The docs build's notebook processing (what `nbdev_docs` runs before Quarto) succeeds on every notebook, and every
page renders to HTML with no error output, no broken local link and no missing image. The screenshots in headless
Chromium are left to `python tools/docs_check.py` (it needs the browser)."""
import subprocess, sys
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
