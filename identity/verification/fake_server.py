"""A fake of Tencent Cloud 人脸核身 on 127.0.0.1, for the tests and the demo.

It speaks the service's API as the SDK sends it — JSON POSTs signed with TC3-HMAC-SHA256,
verified here from the published algorithm (wrong key, stale timestamp or altered body:
AuthFailure) — and plays the public-security source: it holds the reference photo of each
identity it knows. DetectAuth opens a check; the patient's browser opens its liveness page
(/h5/<BizToken>) and sends a live photo, which is compared with the reference photo (not with
anything the patient supplies); GetDetectInfoEnhanced reports the outcome.

ErrCode values used ([memory] of Tencent's list, to check against the service's documentation
before go-live): 0 passed; -1 not finished; 1004 no face; 2004 face does not match the
reference; 3001 name and ID number not found together in the source.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, abort, redirect, request
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Response as WerkzeugResponse

SERVICE = "faceid"
MAX_SKEW_SECONDS = 300


@dataclass
class Check:
    id_number: str
    name: str
    redirect_url: str
    err_code: int = -1
    err_msg: str = "未完成核验"
    similarity: str = ""
    best_frame: bytes | None = None


@dataclass
class FakeFaceId:
    secret_id: str
    secret_key: str
    # The public-security source: ID number -> (name, reference photo).
    references: dict[str, tuple[str, bytes]]
    public_base: str = ""
    checks: dict[str, Check] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_signature(
    secret_key: str, host: str, content_type: str, payload: bytes, timestamp: int
) -> str:
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )  # fmt: skip
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), SERVICE), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _error(code: str, message: str) -> Response:
    body = {"Response": {"Error": {"Code": code, "Message": message},
                         "RequestId": secrets.token_hex(8)}}  # fmt: skip
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


def _ok(fields: dict[str, Any]) -> Response:
    body = {"Response": {**fields, "RequestId": secrets.token_hex(8)}}
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


def _authorised(state: FakeFaceId) -> str | None:
    """None when the request is signed by our secret id and key; else the error message."""
    auth = request.headers.get("Authorization", "")
    try:
        algorithm, rest = auth.split(" ", 1)
        parts = dict(p.strip().split("=", 1) for p in rest.split(","))
        secret_id, date, service, _ = parts["Credential"].split("/")
        timestamp = int(request.headers["X-TC-Timestamp"])
    except (ValueError, KeyError):
        return "malformed Authorization"
    if algorithm != "TC3-HMAC-SHA256" or service != SERVICE or secret_id != state.secret_id:
        return "unknown credential"
    if abs(time.time() - timestamp) > MAX_SKEW_SECONDS:
        return "timestamp too far from now"
    if date != dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d"):
        return "credential date does not match the timestamp"
    expected = tc3_signature(
        state.secret_key,
        request.headers.get("Host", ""),
        request.headers.get("Content-Type", ""),
        request.get_data(),
        timestamp,
    )
    if not hmac.compare_digest(expected, parts.get("Signature", "")):
        return "signature mismatch"
    return None


def create_app(state: FakeFaceId) -> Flask:
    app = Flask("fake_faceid")

    @app.post("/")
    def api() -> Response:
        problem = _authorised(state)
        if problem is not None:
            return _error("AuthFailure.SignatureFailure", problem)
        params = request.get_json(silent=True) or {}
        action = request.headers.get("X-TC-Action", "")
        if action == "DetectAuth":
            return _detect_auth(state, params)
        if action == "GetDetectInfoEnhanced":
            return _detect_info(state, params)
        return _error("InvalidAction", action)

    @app.get("/h5/<token>")
    def liveness_page(token: str) -> str:
        if token not in state.checks:
            abort(404)
        return (
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            "<title>人脸核身（演示服务）</title><body style='font-family:sans-serif;padding:1em'>"
            "<h1>人脸核身（演示服务）</h1><p>请正对镜头拍摄一张本人照片。"
            "照片将与公安身份证照片库中的证件照比对。</p>"
            f"<form method='post' enctype='multipart/form-data' action='/h5/{token}'>"
            "<input type='file' name='selfie' accept='image/*' capture='user' required> "
            "<button type='submit'>开始核验</button></form></body></html>"
        )

    @app.post("/h5/<token>")
    def liveness(token: str) -> WerkzeugResponse:
        check = state.checks.get(token)
        if check is None:
            abort(404)
        if check.err_code != -1:
            abort(409)  # one liveness step per check
        selfie = request.files.get("selfie")
        data = selfie.read() if selfie is not None else b""
        _judge(state, check, data)
        sep = "&" if "?" in check.redirect_url else "?"
        return redirect(check.redirect_url + sep + urlencode({"BizToken": token}))

    return app


def _detect_auth(state: FakeFaceId, params: dict[str, Any]) -> Response:
    id_number, name = str(params.get("IdCard", "")), str(params.get("Name", ""))
    redirect_url = str(params.get("RedirectUrl", ""))
    if not params.get("RuleId") or len(id_number) != 18 or not name or not redirect_url:
        return _error("InvalidParameter", "RuleId, IdCard, Name and RedirectUrl are required")
    token = secrets.token_urlsafe(24)
    with state.lock:
        state.checks[token] = Check(id_number.upper(), name, redirect_url)
    return _ok({"Url": f"{state.public_base}/h5/{token}", "BizToken": token})


def _detect_info(state: FakeFaceId, params: dict[str, Any]) -> Response:
    check = state.checks.get(str(params.get("BizToken", "")))
    if check is None:
        return _error("InvalidParameterValue.BizTokenIllegal", "BizToken 不存在")
    text = {
        "ErrCode": check.err_code, "ErrMsg": check.err_msg, "IdCard": check.id_number,
        "Name": check.name, "Sim": check.similarity,
        "LiveStatus": 0 if check.err_code == 0 else None,
        "Comparestatus": check.err_code if check.err_code != -1 else None,
    }  # fmt: skip
    frame = base64.b64encode(check.best_frame).decode() if check.best_frame else None
    return _ok({"Text": text, "BestFrame": {"BestFrame": frame}})


def _judge(state: FakeFaceId, check: Check, live_photo: bytes) -> None:
    from identity import face

    reference = state.references.get(check.id_number)
    if reference is None or reference[0] != check.name:
        check.err_code, check.err_msg = 3001, "姓名和身份证号不一致或库中无此人"
        return
    try:
        match = face.match_photos(reference[1], live_photo, face.FaceConfig())
    except face.FaceError as exc:
        check.err_code, check.err_msg = 1004, exc.detail
        return
    check.similarity = f"{max(0.0, 1.0 - match.distance) * 100:.2f}"
    if match.matched:
        check.err_code, check.err_msg, check.best_frame = 0, "成功", live_photo
    else:
        check.err_code, check.err_msg = 2004, "人脸与公安证件照比对不一致"


@dataclass
class Running:
    state: FakeFaceId
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def serve(state: FakeFaceId, port: int = 0) -> Running:
    """Serve the fake on 127.0.0.1 from a thread (port 0: any free one)."""
    server = make_server("127.0.0.1", port, create_app(state), threaded=True)
    if not state.public_base:
        state.public_base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="fake-faceid", daemon=True)
    thread.start()
    return Running(state, server, thread)
