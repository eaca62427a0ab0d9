"""A small file that declares a huge image is refused from its header, before its pixels are
decoded: the 12000×12000 PNG of the security probe (0.4 MB on disk, 144 MB of pixels) costs
the worker less than 50 MB. Measured in a child process (its peak resident memory)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def huge_png(side: int = 12000) -> bytes:
    """A valid grayscale PNG of side×side black pixels, built row by row (small in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from identity import face
    data = open(sys.argv[1], "rb").read()
    face.FaceConfig()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        face.load_image(data, face.FaceConfig())
    except face.InvalidImage as exc:
        refused = exc.detail
    else:
        refused = ""
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{(after - before) / 1024:.1f}|{refused}")
    """
)


def test_a_huge_declared_image_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(huge_png())
    assert bomb.stat().st_size < 1_000_000
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(bomb)], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    grown, refused = done.stdout.strip().rsplit("\n", 1)[-1].split("|", 1)
    assert "像素过多" in refused
    assert float(grown) < 50, f"{grown} MB"


def test_the_face_endpoint_refuses_it_with_a_problem(client: object, session: object) -> None:
    from tests import factories
    from tests.helpers import bearer

    practitioner = factories.practitioner(face_checked=False)
    headers = bearer(session, account=practitioner.account)  # type: ignore[arg-type]
    import io

    response = client.post(  # type: ignore[attr-defined]
        "/api/v1/practitioners/me/face-check", headers=headers,
        data={"selfie": (io.BytesIO(huge_png(6000)), "bomb.png")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json["code"] == "invalid_image"
