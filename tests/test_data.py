"Dataset layouts, bad layouts, skipped videos with worker processes, for mac_fame_be.data."
import gc, json, pickle, warnings, pytest, torch
from pathlib import Path
from conftest import write_test_video
from fastai.learner import Learner
import fastai.callback.progress  # Learner.no_bar
from mac_fame_be.data import UCF101, HMDB51, Diving48, Kinetics400, InMemoryClips, VideoClipDataset, random_clip_indices
from mac_fame_be.loaders import video_dls, SkippedVideosCallback
from mac_fame_be.video import VideoError

def ucf(root):
    (root/'classInd.txt').write_text('1 Jump\n2 Run\n')
    vids = ['Jump/v_Jump_g01_c01.avi', 'Jump/v_Jump_g02_c01.avi', 'Run/v_Run_g01_c01.avi', 'Run/v_Run_g02_c01.avi']
    for k, v in enumerate(vids): write_test_video(root/v, T=8, codec='mpeg4', seed=k)
    (root/'trainlist01.txt').write_text(f'{vids[0]} 1\n{vids[2]} 2\n{vids[3]} 2\n')
    (root/'testlist01.txt').write_text(f'{vids[1]}\n')
    (root/'extralist01.txt').write_text(f'{vids[3]}\n{vids[0]} 1\n')
    return root

def test_ucf101(tmp_path):
    root = ucf(tmp_path)
    tr, te, ex = UCF101(root, n_frames=4), UCF101(root, subset='test', n_frames=4), UCF101(root, subset='extra', n_frames=4)
    assert tr.classes == ['Jump', 'Run'] and [l for _, l in tr.items] == [0, 1, 1]
    assert [l for _, l in te.items] == [0] and [l for _, l in ex.items] == [1, 0]
    clip, label = tr[0]
    assert clip.dtype == torch.uint8 and clip.shape == (3, 4, 32, 32) and label == 0
    c0, c1, l, i = UCF101(root, n_frames=4, mode='two_clips', return_index=True)[1]
    assert c0.shape == c1.shape == (3, 4, 32, 32) and (l, i) == (1, 1)
    clips, l = UCF101(root, n_frames=4, mode='uniform', n_clips=3, size=16)[2]
    assert clips.shape == (3, 3, 4, 16, 16)
    # in memory: same frames for the same indices (uniform mode is deterministic)
    d = UCF101(root, n_frames=4, mode='uniform', n_clips=2)
    assert torch.equal(InMemoryClips(d)[1][0], d[1][0])

def test_short_video_loops(tmp_path):
    ds = UCF101(ucf(tmp_path), n_frames=12, stride=2)
    assert ds[0][0].shape == (3, 12, 32, 32)
    assert sorted(set(random_clip_indices(8, n=12, stride=2).tolist())) in ([0, 2, 4, 6], [1, 3, 5, 7])

def test_bad_layouts(tmp_path):
    root = ucf(tmp_path)
    with pytest.raises(FileNotFoundError, match='trainlist02.txt'): UCF101(root, split=2)
    (root/'badlist01.txt').write_text('Swim/v_Swim_g01_c01.avi\n')
    with pytest.raises(ValueError, match="badlist01.txt, line 1: unknown class 'Swim'"): UCF101(root, subset='bad')
    with pytest.raises(FileNotFoundError, match='no split files'): HMDB51(tmp_path/'nothing')

def test_hmdb51(tmp_path):
    for c in ['brush_hair', 'cartwheel']:
        for k in range(2): write_test_video(tmp_path/c/f'{c}_{k}.avi', codec='mpeg4', seed=k)
        (tmp_path/f'{c}_test_split1.txt').write_text(f'{c}_0.avi 1 \n{c}_1.avi 2 \n')
    tr, te = HMDB51(tmp_path, n_frames=4), HMDB51(tmp_path, subset='test', n_frames=4)
    assert tr.classes == ['brush_hair', 'cartwheel'] and [(p.name, l) for p, l in te.items] == [('brush_hair_1.avi', 0), ('cartwheel_1.avi', 1)]
    assert tr[1][0].shape == (3, 4, 32, 32)

def test_diving48(tmp_path):
    (tmp_path/'Diving48_vocab.json').write_text(json.dumps([['Back', '15som', 'NoTwis', 'PIKE'], ['Forward', '25som', '1Twis', 'TUCK']]))
    (tmp_path/'Diving48_V2_train.json').write_text(json.dumps([{'vid_name': 'a', 'label': 1, 'start_frame': 0, 'end_frame': 8}]))
    write_test_video(tmp_path/'rgb'/'a.mp4')
    ds = Diving48(tmp_path, n_frames=4)
    assert ds.classes[1] == 'Forward_25som_1Twis_TUCK' and ds[0][1] == 1 and ds[0][0].shape == (3, 4, 32, 32)

def test_kinetics400(tmp_path):
    (tmp_path/'train.csv').write_text('label,youtube_id,time_start,time_end,split\nabseiling,abc,14,24,train\nzumba,xyz,0,10,train\n')
    write_test_video(tmp_path/'train'/'abseiling'/'abc_000014_000024.mp4')
    write_test_video(tmp_path/'train'/'zumba'/'xyz_000000_000010.mp4')
    with warnings.catch_warnings(record=True) as w:   # the CSV files are closed once read (no ResourceWarning)
        warnings.simplefilter('always')
        ds = Kinetics400(tmp_path, n_frames=4)
        gc.collect()
    assert [str(x.message) for x in w if issubclass(x.category, ResourceWarning)] == []
    assert ds.classes == ['abseiling', 'zumba'] and ds[1][1] == 1 and ds[1][0].shape == (3, 4, 32, 32)

def corrupt_ds(tmp_path, **kw):
    items = [(write_test_video(tmp_path/f'v{k}.mp4', seed=k), k % 2) for k in range(4)]
    (tmp_path/'v1.mp4').write_bytes(b'garbage' * 50)
    return VideoClipDataset(items, n_frames=4, **kw)

def test_skip_and_raise(tmp_path):
    ds = corrupt_ds(tmp_path)
    with pytest.warns(UserWarning, match='v1.mp4'): clip, label = ds[1]
    assert label == 0 and ds.skipped.value == 1          # item 2 substituted for item 1
    ds2 = pickle.loads(pickle.dumps(ds))                  # a plain pickle (Learner.export) keeps the count
    assert ds2.skipped.value == 1 and ds2.skipped is not ds.skipped
    with pytest.raises(VideoError, match='v1.mp4'): corrupt_ds(tmp_path, on_error='raise')[1]

def test_dls_with_workers_reports_skips(tmp_path):
    ds = corrupt_ds(tmp_path)
    dls = video_dls(ds, ds, bs=2, num_workers=2)
    x, y = dls.train.one_batch()
    assert x.dtype == torch.float32 and x.shape == (2, 3, 4, 32, 32) and 0 <= x.min() and x.max() <= 1
    cb = SkippedVideosCallback()
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3*4*32*32, 2))
    learn = Learner(dls, model, loss_func=torch.nn.CrossEntropyLoss(), cbs=cb)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert cb.history == [{'train': 1, 'valid': 1}]
