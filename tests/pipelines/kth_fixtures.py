"""A small fake KTH tree: synthetic AVIs with the real names, whose frame f has gray level base + 2 f."""

import zipfile

import numpy as np

HEADER = (
    "KTH (fake for tests)\r\n\r\n"
    "Training:   person11, 12, 13, 14, 15, 16, 17, 18\r\n"
    "Validation: person19, 20, 21, 23, 24, 25, 01, 04\r\n"
    "Test:       person22, 02, 03, 05, 06, 07, 08, 09, 10 \r\n\r\n"
)

# name -> (number of frames, base gray level, listed segments as in the file, 1-based inclusive)
VIDEOS = {
    "person01_walking_d1": (30, 10, [(1, 12), (15, 30)]),
    "person02_boxing_d2": (20, 70, [(3, 20)]),
    "person17_running_d3": (26, 120, [(1, 25)]),  # stored in running.zip
    "person17_jogging_d4": (12, 150, [(1, 12)]),  # truncated: the file holds only 8 frames
}
CORRUPT = "person02_handwaving_d1"  # random bytes
CORRUPT_ONLY = "person03_boxing_d1"  # random bytes, the only video of person03
NOT_PRESENT = "person16_walking_d2"  # listed, no file
MISSING = "person13_handclapping_d3"  # marked *missing* in the file


def frame_value(name, index):
    return VIDEOS[name][1] + 2 * index


def _write_avi(path, levels):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 25, (160, 120), False)
    assert writer.isOpened(), "OpenCV cannot write FFV1 AVI"
    for level in levels:
        writer.write(np.full((120, 160), level, np.uint8))
    writer.release()


def make_fake_kth(root):
    """Writes the fake manual folder under `root` and returns it."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for name, (_, _, segments) in VIDEOS.items():
        lines.append(f"{name}\t\tframes\t" + ", ".join(f"{a}-{b}" for a, b in segments) + "\r\n")
    lines.append(f"{CORRUPT}\t\tframes\t1-5\r\n")
    lines.append(f"{CORRUPT_ONLY}\t\tframes\t1-5\r\n")
    lines.append(f"{NOT_PRESENT}\t\tframes\t1-5\r\n")
    lines.append(f"{MISSING}\t*missing*\r\n")
    (root / "00sequences.txt").write_text("".join(lines))
    avis = root / "avi"
    avis.mkdir(exist_ok=True)
    for name, (count, base, _) in VIDEOS.items():
        if name == "person17_jogging_d4":
            count = 8
        path = avis / f"{name}_uncomp.avi"
        _write_avi(path, [base + 2 * i for i in range(count)])
        if name.endswith("running_d3"):
            with zipfile.ZipFile(root / "running.zip", "w") as z:
                z.write(path, f"running/{path.name}")
            path.unlink()
    (avis / f"{CORRUPT}_uncomp.avi").write_bytes(np.random.default_rng(0).bytes(5000))
    (avis / f"{CORRUPT_ONLY}_uncomp.avi").write_bytes(np.random.default_rng(1).bytes(5000))
    return root
