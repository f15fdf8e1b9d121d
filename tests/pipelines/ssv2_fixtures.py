"""Fake Something-Something V2 files: label/train/validation JSON and VP9 WebM videos (PyAV)."""

import json

import numpy as np

LABELS = {"Holding something": "16", "Picking something up": "47",
          "Approaching something with your camera": "0", "Tearing something into two pieces": "149"}
# video id -> (split, template with brackets, number of frames, base gray level)
VIDEOS = {
    "101": ("train", "Holding [something]", 24, 30),
    "102": ("train", "Tearing [something] into two pieces", 36, 60),
    "103": ("train", "Approaching [something] with your camera", 12, 90),  # not in the subset
    "104": ("train", "Picking [something] up", 8, 120),
    "201": ("validation", "Tearing [something] into two pieces", 30, 40),
    "202": ("validation", "Holding [something]", 20, 70),
}
CORRUPT = ("105", "train", "Holding [something]")
NOT_PRESENT = ("203", "validation", "Picking [something] up")


def level(video_id, index):
    return VIDEOS[video_id][3] + 4 * index


def _write_webm(path, levels, size=(64, 96)):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx-vp9", rate=12)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        for value in levels:
            frame = av.VideoFrame.from_ndarray(np.full(size + (3,), value, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_fake_ssv2(root):
    """Writes the fake manual folder under `root` and returns it."""
    videos = root / "20bn-something-something-v2"
    videos.mkdir(parents=True, exist_ok=True)
    (root / "something-something-v2-labels.json").write_text(json.dumps(LABELS))
    entries = {"train": [], "validation": []}
    for video_id, (split, template, count, base) in VIDEOS.items():
        entries[split].append({"id": video_id, "label": "x", "template": template, "placeholders": ["x"]})
        _write_webm(videos / f"{video_id}.webm", [base + 4 * i for i in range(count)])
    for video_id, split, template in (CORRUPT, NOT_PRESENT):
        entries[split].append({"id": video_id, "label": "x", "template": template, "placeholders": ["x"]})
    (videos / f"{CORRUPT[0]}.webm").write_bytes(np.random.default_rng(0).bytes(4000))
    for split, items in entries.items():
        (root / f"something-something-v2-{split}.json").write_text(json.dumps(items))
    return root
