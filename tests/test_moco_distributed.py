"""MoCo's collective operations in two processes on the gloo backend (CPU).

BN is put in eval mode (query and key encoders): with batch statistics the keys depend on which samples share a
sub-batch, which shuffle-BN changes on purpose, so "same result as one process" is only well defined when BN
uses fixed running statistics. Under eval-mode BN each key is a per-sample function, so the shuffled, encoded
and un-shuffled keys must equal the keys of a plain single-process pass, and the mean of the two ranks' losses
(each on its half of the batch, same queue) must equal the single-process loss on the concatenated batch.
"""
import socket, subprocess, sys
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from mac_fame_be.losses import MoCo, concat_all_gather, batch_shuffle, batch_unshuffle

B, WORLD = 4, 2

class TinyEncoder(nn.Sequential):
    num_features = 6
    def __init__(self):
        super().__init__(nn.Flatten(), nn.Linear(3 * 2 * 4 * 4, 6), nn.BatchNorm1d(6))

def make_moco():
    torch.manual_seed(0)
    m = MoCo(TinyEncoder(), dim=4, queue_size=16, key_momentum=0.99, hidden=8)
    with torch.no_grad():  # non-trivial running statistics, identical on every rank
        bn = m.key_encoder[0][2]
        bn.running_mean.uniform_(-1, 1); bn.running_var.uniform_(0.5, 2)
    return m

def data():
    g = torch.Generator().manual_seed(1)
    return torch.rand(WORLD * B, 3, 2, 4, 4, generator=g), torch.rand(WORLD * B, 3, 2, 4, 4, generator=g)

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def worker(rank, port, out):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=WORLD)
    try:
        torch.manual_seed(100 + rank)  # different local seeds: the shuffle must still agree (rank 0 broadcasts it)
        m = make_moco().eval()
        xq, xk = data(); sl = slice(rank * B, (rank + 1) * B)
        # shuffle / unshuffle round trip returns this rank's own samples in order
        shuffled, idx_un = batch_shuffle(xk[sl])
        res = dict(roundtrip=batch_unshuffle(shuffled, idx_un), shuffled=shuffled)
        res['keys'] = m.encode_key(xk[sl])
        q = m.encode_query(xq[sl])
        res['loss'] = m.contrastive_loss(q, res['keys']).detach()
        m.enqueue(res['keys'])
        res['queue'], res['ptr'] = m.queue.clone(), m.queue_ptr.clone()
        torch.save(res, f'{out}/rank{rank}.pt')
    finally:
        dist.destroy_process_group()

def run_ranks(out):
    "Fork the ranks from a fresh interpreter (see the __main__ block): fast, and no OpenMP state inherited."
    mp.start_processes(worker, args=(free_port(), str(out)), nprocs=WORLD, join=True, start_method='fork')

def test_moco_gloo_two_ranks(tmp_path):
    # spawn would re-import torch in each child (many seconds); forking pytest's own process can deadlock once it
    # has run OpenMP-parallel ops, so a fresh interpreter forks the two ranks before doing any tensor work.
    subprocess.run([sys.executable, __file__, str(tmp_path)], check=True, timeout=120)
    r = [torch.load(tmp_path / f'rank{i}.pt') for i in range(WORLD)]
    xq, xk = data()
    # single-process reference on the concatenated batch
    m = make_moco().eval()
    keys = m.encode_key(xk)
    loss = m.contrastive_loss(m.encode_query(xq), keys)
    m.enqueue(keys)
    for i in range(WORLD):
        sl = slice(i * B, (i + 1) * B)
        torch.testing.assert_close(r[i]['roundtrip'], xk[sl])                    # un-shuffles to the original order
        torch.testing.assert_close(r[i]['keys'], keys[sl], atol=1e-6, rtol=1e-5)  # shuffle-BN keys = plain keys
        torch.testing.assert_close(r[i]['queue'], m.queue, atol=1e-6, rtol=1e-5)  # same gathered keys enqueued
        assert int(r[i]['ptr']) == WORLD * B
    torch.testing.assert_close(r[0]['queue'], r[1]['queue'])
    # the shuffle really moved samples between ranks (same permutation on both: together they hold the batch)
    both = torch.cat([r[0]['shuffled'], r[1]['shuffled']])
    assert not torch.equal(both, xk)
    assert sorted(both.flatten(1).sum(1).tolist()) == sorted(xk.flatten(1).sum(1).tolist())
    torch.testing.assert_close((r[0]['loss'] + r[1]['loss']) / 2, loss, atol=1e-5, rtol=1e-5)

def test_helpers_without_distributed():
    x = torch.randn(3, 2)
    assert concat_all_gather(x) is x
    m = make_moco().eval()
    torch.testing.assert_close(m.encode_key(torch.rand(2, 3, 2, 4, 4)).norm(dim=1), torch.ones(2))

if __name__ == '__main__': run_ranks(sys.argv[1])
