"""Render the long description the package page shows (from a wheel's METADATA, or README.md) as the package index
does (readme_renderer) and fail on what reads badly there: pandas' `<style scoped>` CSS shown as text, raw TeX
(`$...$`, `\\alpha`), a failed render.

    python tools/check_long_description.py [dist/*.whl | README.md] [--html OUT.html]
"""
import re, sys, zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAD = {'CSS shown as text': r'vertical-align|\.dataframe|<style', 'raw TeX': r'\$[^$\n]*\\[a-zA-Z]+|\\(alpha|lambda|odot|hat|tilde)\b'}

def long_description(path):
    path = Path(path)
    if path.suffix != '.whl': return path.read_text(), 'text/markdown'
    with zipfile.ZipFile(path) as z:
        meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode())
    return meta.get_payload(), meta.get('Description-Content-Type', '')

def problems(path):
    from readme_renderer.markdown import render
    text, ctype = long_description(path)
    if not ctype.startswith('text/markdown'): return [f'content type {ctype!r}, expected text/markdown'], None
    html = render(text)
    if html is None: return ['the long description does not render'], None
    return [f'{what}: {m.group(0)!r}' for what, rx in BAD.items() for m in [re.search(rx, html)] if m], html

if __name__ == '__main__':
    args = sys.argv[1:]
    out = args.pop(args.index('--html') + 1) if '--html' in args else None
    if '--html' in args: args.remove('--html')
    bad = False
    for p in args or [ROOT/'README.md']:
        probs, html = problems(p)
        if out and html: Path(out).write_text(f'<meta charset="utf-8"><body style="max-width:900px;margin:auto;font-family:sans-serif">{html}</body>')
        print(f'{p}: ' + ('; '.join(probs) if probs else 'renders cleanly'))
        bad |= bool(probs)
    sys.exit(1 if bad else 0)
