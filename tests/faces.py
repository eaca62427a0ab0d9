"""Real face photos that ship inside PyPI packages, and variations of them."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import matplotlib
import skimage
from PIL import Image, ImageEnhance

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
GRACE_HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def encode(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@cache
def astronaut_face() -> Image.Image:
    """Eileen Collins; the full picture also shows a badge the detector takes for a face."""
    return Image.open(SKIMAGE_DATA / "astronaut.png").convert("RGB").crop((60, 0, 380, 320))


@cache
def grace_hopper() -> Image.Image:
    return Image.open(GRACE_HOPPER).convert("RGB")


def id_photo() -> bytes:
    return encode(astronaut_face())


def selfie_640x480(face: Image.Image | None = None, side: int = 300) -> Image.Image:
    canvas = Image.new("RGB", (640, 480), (205, 210, 200))
    canvas.paste((face or astronaut_face()).resize((side, side)), (170, 90))
    return canvas


def same_person_variants() -> dict[str, bytes]:
    face = astronaut_face()
    return {
        "selfie 640x480": encode(selfie_640x480()),
        "scaled up": encode(face.resize((480, 480))),
        "mirrored": encode(face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        "brighter": encode(ImageEnhance.Brightness(face).enhance(1.4)),
        "darker": encode(ImageEnhance.Brightness(face).enhance(0.6)),
        "png": encode(face, "PNG"),
    }


def other_person() -> bytes:
    return encode(grace_hopper())


def no_face() -> bytes:
    return (SKIMAGE_DATA / "coffee.png").read_bytes()


def two_faces() -> bytes:
    canvas = Image.new("RGB", (900, 620), (255, 255, 255))
    canvas.paste(astronaut_face(), (0, 150))
    canvas.paste(grace_hopper().resize((380, 445)), (480, 80))
    return encode(canvas)


def tiny_face() -> bytes:
    return encode(selfie_640x480(side=200))  # the face itself is about 56 px


def sideways_with_exif() -> bytes:
    """A phone photo stored on its side, with the EXIF tag saying how to turn it upright."""
    rotated = selfie_640x480().rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° clockwise to view
    return encode(rotated, exif=exif.tobytes())
