"""Execute a notebook in place and store its outputs, as the docs show them (Quarto does not execute).

    .venv/bin/python tools/run_nb.py nbs/04_augment.ipynb [--slow] [--until 46]

Cells marked `#| slow` are skipped unless `--slow`, `#| gpu` cells always; they keep their stored outputs, as do the cells after `--until`
(a cell index). Run `nbdev_clean` afterwards. Figures are stored at 1:1 pixels (PNG, not retina): draw them at dpi 100 (tests/test_docs.py).
"""
import argparse, os, sys, time
from pathlib import Path

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('nb'); ap.add_argument('--slow', action='store_true', help='run the `#| slow` cells too')
    ap.add_argument('--until', type=int, default=None, help='stop after this cell index (later outputs are kept)')
    a = ap.parse_args(argv)
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    path = Path(a.nb).resolve()
    nb = read_nb(path)
    os.chdir(path.parent)
    skip = lambda c: (c.cell_type == 'code' and ('#| gpu' in c.source or (not a.slow and '#| slow' in c.source))) or \
                     (a.until is not None and c.idx_ > a.until)
    t0 = time.time()
    CaptureShell(path, mpl_format='png').run_all(nb, exc_stop=True, preproc=skip)
    write_nb(nb, path)
    print(f'{path.name}: executed in {time.time() - t0:.0f} s')

if __name__ == '__main__': sys.exit(main())
