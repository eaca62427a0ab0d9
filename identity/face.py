"""Face matching with the face_recognition package (dlib's HOG detector and ResNet encoder).

Images are checked (type, size), turned upright by their EXIF orientation (phones store
photos sideways), scaled down to a working size, and must show exactly one face of at least a
minimum size. Only encodings and distances leave this module; images are never stored.
"""

from __future__ import annotations

import io
import json
import threading
import warnings
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import DomainError
from core.settings import Settings

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})


class FaceError(DomainError):
    status = 422


class InvalidImage(FaceError):
    code = "invalid_image"
    title = "图片无法识别"


class NoFace(FaceError):
    code = "no_face"
    title = "照片中未检测到人脸"


class MultipleFaces(FaceError):
    code = "multiple_faces"
    title = "照片中有多张人脸"


class FaceTooSmall(FaceError):
    code = "face_too_small"
    title = "照片中的人脸太小"


@dataclass(frozen=True)
class FaceConfig:
    threshold: float = 0.5  # stricter than the library's 0.6
    min_face_px: int = 80
    max_image_bytes: int = 8 * 1024 * 1024
    working_side_px: int = 800
    # Checked from the header, before anything is decoded: a small file can declare a huge
    # image (12000×12000 PNG in 0.4 MB) whose pixels would take gigabytes. 20 MP covers a
    # phone's camera (4000×3000 is 12 MP).
    max_pixels: int = 20_000_000


@dataclass(frozen=True)
class FaceMatch:
    distance: float
    threshold: float
    model_version: str
    # The encoding of the reference photo (the ID photo), kept to recognise the person later.
    reference: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def matched(self) -> bool:
        return self.distance <= self.threshold


def _face_recognition() -> Any:
    # face_recognition_models imports pkg_resources, which warns on import; nothing to act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import face_recognition
    return face_recognition


@cache
def model_version() -> str:
    import dlib
    import face_recognition_models

    face_recognition = _face_recognition()

    return (
        f"face_recognition {face_recognition.__version__}; dlib {dlib.__version__}; "
        f"models {face_recognition_models.__version__}; hog + resnet-v1 (5-point)"
    )


def load_image(data: bytes, config: FaceConfig, what: str = "照片") -> np.ndarray:
    if not data:
        raise InvalidImage(f"{what}为空")
    if len(data) > config.max_image_bytes:
        raise InvalidImage(f"{what}超过 {config.max_image_bytes // (1024 * 1024)} MB")
    try:
        opened = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
        width, height = opened.size  # from the header: nothing decoded yet
        if width * height > config.max_pixels:
            raise InvalidImage(f"{what}像素过多（{width}×{height}），请使用手机拍摄的普通照片")
        image_format = opened.format
        if image_format == "JPEG":  # decode at a reduced scale when that is all we need
            opened.draft("RGB", (config.working_side_px, config.working_side_px))
        image: Image.Image = ImageOps.exif_transpose(opened)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidImage(f"{what}须为 JPEG、PNG 或 WebP 格式的图片") from exc
    if image_format not in ACCEPTED_FORMATS:
        raise InvalidImage(f"{what}须为 JPEG、PNG 或 WebP 格式")
    image = image.convert("RGB")
    longest = max(image.size)
    if longest > config.working_side_px:
        scale = config.working_side_px / longest
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
        )
    return np.asarray(image)


# face_recognition holds one dlib detector, landmark model and network per process, and dlib
# runs them without the GIL: two requests at once in one worker (gthread) corrupt each other's
# results (a face counted 18 times) or the heap. One check at a time per process; the work is
# CPU-bound, so on a 2-core node nothing is lost against the GIL-free overlap.
_dlib_lock = threading.Lock()


def encode_single_face(image: np.ndarray, config: FaceConfig, what: str = "照片") -> np.ndarray:
    with _dlib_lock:
        return _encode_single_face(image, config, what)


def _encode_single_face(image: np.ndarray, config: FaceConfig, what: str) -> np.ndarray:
    face_recognition = _face_recognition()

    # No upsampling: the HOG detector's 80×80 window already matches the minimum face size.
    locations = face_recognition.face_locations(image, number_of_times_to_upsample=0)
    if not locations:
        # Only on this failure path: look again for smaller faces, to say "come closer"
        # rather than "no face" when that is the trouble.
        if face_recognition.face_locations(image, number_of_times_to_upsample=1):
            raise FaceTooSmall(f"{what}中的人脸太小，请靠近镜头")
        raise NoFace(f"{what}中未检测到人脸，请正对镜头、光线充足后重拍")
    if len(locations) > 1:
        raise MultipleFaces(f"{what}中检测到 {len(locations)} 张人脸，请只保留本人")
    top, right, bottom, left = locations[0]
    if min(bottom - top, right - left) < config.min_face_px:
        raise FaceTooSmall(f"{what}中的人脸太小，请靠近镜头")
    encoding: np.ndarray = face_recognition.face_encodings(image, locations, num_jitters=1)[0]
    return encoding


def encode_photo(data: bytes, config: FaceConfig, what: str = "照片") -> np.ndarray:
    return encode_single_face(load_image(data, config, what), config, what)


CARD_PHOTO_SIDE_PX = 400


def encode_card_photo(data: bytes, config: FaceConfig) -> np.ndarray:
    """The photo from an ID card's chip (102×126 px on a 二代身份证): enlarged so the detector,
    whose window is 80 px, finds the face; the card photo is small by design, not too far."""
    image = Image.fromarray(load_image(data, config, "身份证照片"))
    longest = max(image.size)
    if longest < CARD_PHOTO_SIDE_PX:
        scale = CARD_PHOTO_SIDE_PX / longest
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS
        )
    return encode_single_face(np.asarray(image), config, "身份证照片")


def distance(known: np.ndarray, candidate: np.ndarray) -> float:
    return float(np.linalg.norm(known - candidate))


def compare(known: np.ndarray, candidate: np.ndarray, config: FaceConfig) -> FaceMatch:
    return FaceMatch(distance(known, candidate), config.threshold, model_version(), known)


def match_photos(id_photo: bytes, selfie: bytes, config: FaceConfig) -> FaceMatch:
    known = encode_photo(id_photo, config, "证件照")
    candidate = encode_photo(selfie, config, "自拍照")
    return compare(known, candidate, config)


def serialise(encoding: np.ndarray) -> str:
    return json.dumps([round(float(x), 8) for x in encoding])


def deserialise(text: str) -> np.ndarray:
    return np.asarray(json.loads(text), dtype=np.float64)


class FaceMatcher(Protocol):
    """One kind of comparison (a selfie against the enrolled face, or the kiosk's camera against
    the photo on an ID card's chip), with its threshold."""

    @property
    def threshold(self) -> float: ...

    def model_version(self) -> str: ...

    def encode(self, photo: bytes, what: str = "照片") -> np.ndarray: ...

    def encode_card(self, photo: bytes) -> np.ndarray: ...

    def compare(self, known: np.ndarray, candidate: np.ndarray) -> FaceMatch: ...


class FaceEngine(Protocol):
    """The face-matching provider (FACE_BACKEND): a matcher for each kind of comparison."""

    def matcher(self, kind: Literal["selfie", "card"]) -> FaceMatcher: ...


@dataclass(frozen=True)
class DlibMatcher:
    """face_recognition (dlib) on this machine, with one configuration."""

    config: FaceConfig = FaceConfig()

    @property
    def threshold(self) -> float:
        return self.config.threshold

    def model_version(self) -> str:
        return model_version()

    def encode(self, photo: bytes, what: str = "照片") -> np.ndarray:
        return encode_photo(photo, self.config, what)

    def encode_card(self, photo: bytes) -> np.ndarray:
        return encode_card_photo(photo, self.config)

    def compare(self, known: np.ndarray, candidate: np.ndarray) -> FaceMatch:
        return compare(known, candidate, self.config)


@dataclass(frozen=True)
class DlibEngine:
    """FACE_BACKEND=dlib: the thresholds and the smallest face from the settings, in one place."""

    selfie: DlibMatcher
    card: DlibMatcher

    @classmethod
    def from_settings(cls, settings: Settings) -> DlibEngine:
        return cls(
            DlibMatcher(FaceConfig(settings.face_match_threshold, settings.face_min_size_px)),
            DlibMatcher(FaceConfig(settings.face_card_match_threshold, settings.face_min_size_px)),
        )

    def matcher(self, kind: Literal["selfie", "card"]) -> FaceMatcher:
        return self.card if kind == "card" else self.selfie
