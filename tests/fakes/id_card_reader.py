"""The ID card reader beside a kiosk, for tests: a reading of a card, signed with the kiosk's
reader key as the reader service does (pharmacy.id_card.sign)."""

from __future__ import annotations

import io
import json
import time

from PIL import Image

from pharmacy import id_card
from pharmacy.models import Kiosk
from tests import faces
from tests.people import CHILD_ID_NUMBER

PATIENT = ("张三", "110105198503141235")
CHILD = ("张小宝", CHILD_ID_NUMBER)
STRANGER = ("李四", "310104199007084564")


def chip_photo(image: Image.Image | None = None) -> bytes:
    """A photo the size of a 二代身份证 chip's (102×126 px)."""
    buffer = io.BytesIO()
    (image or faces.astronaut_face()).resize((102, 126)).save(buffer, "JPEG")
    return buffer.getvalue()


def reading(
    kiosk: Kiosk,
    who: tuple[str, str] = PATIENT,
    photo: bytes | None = None,
    at: float | None = None,
    key: str | None = None,
) -> str:
    signed = id_card.sign(who[0], who[1], photo or chip_photo(), f"reader-{kiosk.id}",
                          int(at if at is not None else time.time()),
                          key if key is not None else kiosk.reader_key or "")  # fmt: skip
    return json.dumps(signed)


class FakeReaderService:
    """The reader service beside a kiosk screen, on 127.0.0.1: GET /read answers the signed
    reading of the card on the reader (CORS open, as the kiosk page is served elsewhere)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        service = self
        self.kiosk: Kiosk | None = None
        self.card = PATIENT

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if service.kiosk is None:
                    self.send_error(503)
                    return
                body = reading(service.kiosk, service.card).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/read"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
