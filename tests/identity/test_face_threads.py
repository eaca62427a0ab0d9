"""Face checks from several threads of one worker at once (gunicorn gthread): each caller gets
the encoding of their own photo. Run in a child process, so that the heap corruption dlib
shows without the lock fails this test instead of aborting the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import threading
    import numpy as np
    from identity import face
    from tests import faces

    config = face.FaceConfig()
    photos = [faces.id_photo(), faces.other_person()]
    expected = [face.encode_photo(p, config) for p in photos]
    wrong = []

    def caller(i):
        for _ in range(6):
            try:
                got = face.encode_photo(photos[i % 2], config)
            except Exception as exc:
                wrong.append(repr(exc))
                continue
            if face.distance(got, expected[i % 2]) > 1e-6:
                wrong.append(f"caller {i} got another encoding")

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("WRONG", len(wrong), wrong[:3])
    raise SystemExit(1 if wrong else 0)
    """
)


def test_concurrent_face_checks_in_one_process_each_get_their_own_face() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
