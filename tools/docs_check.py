"""Docs check without Quarto: process the notebooks as the docs build does, render every page to HTML, open each
in headless Chromium and screenshot it, and fail on a page with an error output, a broken local link or a missing
image.

    .venv/bin/python tools/docs_check.py [--no-browser] [--out _docs_check]

Quarto cannot be installed on these machines; the real site is built by the docs workflow. This check uses
`nbdev.serve.proc_nbs` (the same notebook processing `nbdev_docs` runs before Quarto) and nbconvert's HTML
exporter in place of Quarto's renderer.
"""
import argparse, json, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def process_notebooks():
    "Run nbdev's docs processing (`_proc/`) and check that it picked up `nbs/_quarto.yml` (written from `_quarto.yml`)."
    import os
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT/'tools'))
    from docs import sync_quarto
    sync_quarto(ROOT)
    from nbdev.serve import proc_nbs
    proc_nbs(n_workers=0, force=True)
    proc = ROOT/'_proc'
    q = proc/'_quarto.yml'
    assert q.exists() and q.read_text() == (ROOT/'nbs'/'_quarto.yml').read_text(), '_proc/_quarto.yml is not nbs/_quarto.yml'
    return proc

_md_link = re.compile(r'(!?)\[[^\]]*\]\(([^)\s]+)[^)]*\)')
_html_ref = re.compile(r'<(?:img|a|video|source)\b[^>]*?(?:src|href)="([^"]+)"')

def page_problems(nb_path, sources):
    "Error outputs, broken local links and missing images of one processed notebook."
    nb = json.loads(nb_path.read_text())
    probs = []
    for i, c in enumerate(nb['cells']):
        for o in c.get('outputs', []):
            if o.get('output_type') == 'error': probs.append(f'cell {i}: error output {o.get("ename")}: {o.get("evalue")}')
            if o.get('output_type') == 'stream' and 'Traceback (most recent call last)' in ''.join(o.get('text', '')):
                probs.append(f'cell {i}: a traceback in the output')
        if c['cell_type'] != 'markdown': continue
        src = ''.join(c['source'])
        refs = [(bang, u) for bang, u in _md_link.findall(src)] + [('', u) for u in _html_ref.findall(src)]
        for bang, url in refs:
            if re.match(r'^(https?:|mailto:|#|data:)', url): continue
            target = url.split('#')[0]
            if not target: continue
            p = (nb_path.parent/target)
            stem_ok = p.exists() or p.with_suffix('.ipynb').exists() or (p.suffix == '.html' and p.with_suffix('.ipynb').name in sources)
            if not stem_ok: probs.append(f'cell {i}: {"missing image" if bang else "broken link"} {url}')
    return probs

def render_html(nb_path, out_dir):
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.read(str(nb_path), as_version=4)
    html, _ = HTMLExporter(template_name='lab').from_notebook_node(nb)
    out = out_dir/(nb_path.stem + '.html')
    out.write_text(html)
    return out

def screenshot(html, png, browser, size='1100,1600'):
    cmd = [browser, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars',
           f'--user-data-dir=/tmp/docs_check_chromium', f'--window-size={size}', '--virtual-time-budget=3000',
           f'--screenshot={png}', html.resolve().as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return png.exists() and png.stat().st_size > 0, r.stderr[-500:]

FIGURE_WIDTH = 850   # px: the content column of the docs site (Quarto's cosmo page with its table of contents)

def figure_shots(html, out, browser):
    "One screenshot per figure: the page at the docs column's width, cropped around the figure. -> list of PNGs"
    from PIL import Image
    style = f'<style>body{{max-width:{FIGURE_WIDTH}px !important;margin:0 !important}}</style>'
    js = ("<script>addEventListener('load',()=>{const r=[...document.images].map(i=>{const b=i.getBoundingClientRect();"
          "return [b.left,b.top+scrollY,b.width,b.height]});const p=document.createElement('pre');p.id='figrects';"
          "p.textContent=JSON.stringify([r,document.documentElement.scrollHeight]);document.body.append(p)})</script>")
    page = html.with_name(html.stem + '-figs.html')
    page.write_text(html.read_text().replace('</head>', style + js + '</head>', 1))
    cmd = [browser, '--headless', '--no-sandbox', '--disable-gpu', '--user-data-dir=/tmp/docs_check_chromium',
           f'--window-size={FIGURE_WIDTH + 20},900', '--virtual-time-budget=3000', '--dump-dom', page.resolve().as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'<pre id="figrects">(.*?)</pre>', dom)
    if not m: return []
    rects, height = json.loads(m.group(1).replace('&quot;', '"'))
    full = out/(html.stem + '-full.png')
    ok, _ = screenshot(page, full, browser, size=f'{FIGURE_WIDTH + 20},{int(height) + 10}')
    page.unlink()
    if not ok: return []
    im, shots = Image.open(full), []
    for k, (x, y, w, h) in enumerate(rects):
        if w < 20 or h < 20: continue
        png = out/f'{html.stem}-fig{k}.png'
        im.crop((0, max(0, int(y) - 40), FIGURE_WIDTH + 20, min(im.height, int(y + h) + 20))).save(png)
        shots.append((png, int(w), int(h)))
    full.unlink()
    return shots

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default=str(ROOT/'_docs_check'))
    ap.add_argument('--no-browser', action='store_true', help='skip the Chromium screenshots')
    ap.add_argument('--only', default='', help='a regular expression: render and check only the pages whose names match')
    ap.add_argument('--figures', action='store_true', help='also one screenshot per figure (PAGE-figK.png)')
    a = ap.parse_args()
    t0 = time.time()
    out = Path(a.out); shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    proc = process_notebooks()
    nbs = sorted(p for p in proc.glob('*.ipynb') if not a.only or re.search(a.only, p.name))
    sources = {p.name for p in nbs}
    browser = None if a.no_browser else (shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome'))
    if not a.no_browser and browser is None: sys.exit('no Chromium found: install Debian\'s chromium, or pass --no-browser')
    failed, rows = False, []
    for nb in nbs:
        probs = page_problems(nb, sources)
        html = render_html(nb, out)
        shot = ''
        if browser:
            ok, err = screenshot(html, out/(nb.stem + '.png'), browser)
            shot = 'ok' if ok else 'FAILED'
            if not ok: probs.append(f'no screenshot: {err}')
            if a.figures: shot += ', figures ' + ' '.join(f'{w}x{h}' for _, w, h in figure_shots(html, out, browser))

        rows.append((nb.name, html.stat().st_size/1024, shot, probs))
        failed |= bool(probs)
    print(f'{"page":<24}{"HTML KiB":>10}  screenshot  problems')
    for name, kb, shot, probs in rows:
        print(f'{name:<24}{kb:>10.0f}  {shot:<10}  {"; ".join(probs) if probs else "none"}')
    print(f'{len(rows)} pages, {time.time()-t0:.0f} s, screenshots and HTML in {out}')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
