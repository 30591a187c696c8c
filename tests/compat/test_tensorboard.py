"""dg.utils.tensorboard.SummaryWriter writes TensorBoard event files (read back here as TFRecord
records of Event protos) and says what to install when tensorboardX is missing."""
from __future__ import annotations

import glob
import os
import struct
import sys

import pytest

import deltagrad as dg
from deltagrad.utils.tensorboard import SummaryWriter


def _events(log_dir):
    from tensorboardX.proto.event_pb2 import Event
    (path,) = glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))
    data, events = open(path, "rb").read(), []
    i = 0
    while i < len(data):  # TFRecord: length, crc, payload, crc
        (n,) = struct.unpack("<Q", data[i:i + 8])
        events.append(Event.FromString(data[i + 12:i + 12 + n]))
        i += 12 + n + 4
    return events


def test_scalars_histograms_images_text_reach_the_event_file(tmp_path):
    pytest.importorskip("tensorboardX")
    with SummaryWriter(log_dir=str(tmp_path)) as w:
        for step, loss in enumerate([1.5, 0.75, 0.25]):
            w.add_scalar("train/loss", dg.tensor(loss), step)
        w.add_scalars("lr", {"a": dg.tensor(0.1), "b": 0.2}, 0)
        w.add_histogram("weights", dg.randn(100), 3)
        w.add_image("img", dg.rand(3, 4, 5), 0)
        w.add_text("note", "hello", 0)
        assert w.get_logdir() == str(tmp_path)
    events = _events(str(tmp_path))
    scalars = [(e.step, v.tag, v.simple_value) for e in events for v in e.summary.value
               if v.tag == "train/loss"]
    assert scalars == [(0, "train/loss", 1.5), (1, "train/loss", 0.75), (2, "train/loss", 0.25)]
    tags = {v.tag for e in events for v in e.summary.value}
    assert {"weights", "img", "note/text_summary"} <= tags
    hist = [v.histo for e in events for v in e.summary.value if v.tag == "weights"][0]
    assert hist.num == 100
    assert glob.glob(os.path.join(str(tmp_path), "lr*", "**", "events.out.tfevents.*"),
                     recursive=True)  # add_scalars' sub-writers


def test_add_graph_is_refused_by_name(tmp_path):
    pytest.importorskip("tensorboardX")
    with SummaryWriter(log_dir=str(tmp_path)) as w:
        with pytest.raises(NotImplementedError, match="add_graph is not supported"):
            w.add_graph(dg.nn.Linear(2, 2), dg.zeros(1, 2))


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import raises ImportError
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        SummaryWriter()
