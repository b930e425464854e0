"""Backbone costs on this machine: parameters, MACs at the default input, CPU forward time of a 1×3×16×112² clip
(S3D at its minimum-size default 16×224²), and Tiny3D's training step (forward + backward, batch 32, 16×64²).

    .venv/bin/python timings/bench_models.py [--names tiny3d r3d_18] [--threads 2] [--n 3]
"""
import argparse, os, time
import torch
from mac_fame_be.models import list_backbones, create_backbone, backbone_costs, time_forward

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--names', nargs='*', default=None, help='backbones (default: all registered)')
    ap.add_argument('--threads', type=int, default=torch.get_num_threads())
    ap.add_argument('--n', type=int, default=3, help='timed repeats (minimum reported)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    names = a.names or list_backbones()
    print(f'torch {torch.__version__}, {a.threads} threads, best of {a.n}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores')
    print(f"{'name':12} {'default input':>14} {'params M':>9} {'G MACs':>8} {'feature map':>13} {'timed input':>12} {'CPU fwd s':>10}")
    for row in backbone_costs(names):
        shape = (1, 3, 16, 224, 224) if row['name'] == 's3d' else (1, 3, 16, 112, 112)
        t = time_forward(create_backbone(row['name']), shape, n=a.n)
        print(f"{row['name']:12} {row['input']:>14} {row['params_M']:9.3f} {row['GMACs']:8.3f} {row['feature_map']:>13} "
              f"{'×'.join(map(str, shape[2:])):>12} {t:10.3f}")
    if 'tiny3d' in names:
        m, x = create_backbone('tiny3d').train(), torch.rand(32, 3, 16, 64, 64)
        m(x).sum().backward(); ts = []
        for _ in range(a.n):
            t0 = time.perf_counter(); m(x).sum().backward(); ts.append(time.perf_counter() - t0)
        print(f'tiny3d forward+backward, batch 32, 16×64²: {min(ts):.3f} s')

if __name__ == '__main__': main()
