"""Face matching on real photos: the same person matches through ordinary changes, two
different people do not, and unusable photos are refused with a reason."""

from __future__ import annotations

import pytest

from identity import face
from tests import faces

CONFIG = face.FaceConfig()


@pytest.mark.parametrize("variant", list(faces.same_person_variants()))
def test_same_person_matches(variant: str) -> None:
    selfie = faces.same_person_variants()[variant]
    result = face.match_photos(faces.id_photo(), selfie, CONFIG)
    assert result.matched, f"{variant}: distance {result.distance:.3f}"


def test_different_people_do_not_match() -> None:
    result = face.match_photos(faces.id_photo(), faces.other_person(), CONFIG)
    assert not result.matched
    assert result.distance > CONFIG.threshold


def test_threshold_is_stricter_than_the_library_default() -> None:
    assert CONFIG.threshold < 0.6
    loose = face.FaceConfig(threshold=1.0)
    assert face.match_photos(faces.id_photo(), faces.other_person(), loose).matched


def test_sideways_phone_photo_is_turned_upright() -> None:
    assert face.match_photos(faces.id_photo(), faces.sideways_with_exif(), CONFIG).matched


@pytest.mark.parametrize(
    ("photo", "error"),
    [
        (faces.no_face, face.NoFace),
        (faces.two_faces, face.MultipleFaces),
        (faces.tiny_face, face.FaceTooSmall),
        (lambda: b"definitely not an image", face.InvalidImage),
        (lambda: faces.encode(faces.astronaut_face(), "GIF"), face.InvalidImage),
        (lambda: b"", face.InvalidImage),
    ],
)
def test_unusable_photos_are_refused(photo: object, error: type[face.FaceError]) -> None:
    with pytest.raises(error):
        face.match_photos(faces.id_photo(), photo(), CONFIG)  # type: ignore[operator]


def test_oversized_upload_is_refused() -> None:
    small = face.FaceConfig(max_image_bytes=1000)
    with pytest.raises(face.InvalidImage, match="超过"):
        face.encode_photo(faces.id_photo(), small)


def test_encoding_round_trips() -> None:
    encoding = face.encode_photo(faces.id_photo(), CONFIG)
    assert face.distance(encoding, face.deserialise(face.serialise(encoding))) < 1e-6
