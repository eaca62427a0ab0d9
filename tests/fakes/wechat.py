"""A fake WeChat API on 127.0.0.1, so that the real wechatpy and requests code is exercised:
access tokens, jscode2session, and error answers such as 40029 (invalid code)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeWeChat:
    app_id: str
    secret: str
    server: ThreadingHTTPServer | None = None
    # js_code -> answer of jscode2session
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_calls: int = 0
    tokens_issued: list[str] = field(default_factory=list)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # Messages sent: (path, body). Errors to answer: the next customer-service send with this
    # errcode (45015: the 48-hour window closed); tokens to treat as expired (42001).
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    custom_errcode: int | None = None
    # Web authorisation: code -> openid (each code works once).
    oauth_codes: dict[str, str] = field(default_factory=dict)
    expired_tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self.calls.append((path, query))
            if path == "/cgi-bin/token":
                if query.get("appid") != self.app_id or query.get("secret") != self.secret:
                    return {"errcode": 40125, "errmsg": "invalid appsecret"}
                self.token_calls += 1
                token = f"TOKEN-{self.token_calls}"
                self.tokens_issued.append(token)
                return {"access_token": token, "expires_in": 7200}
            if path == "/sns/jscode2session":
                if query.get("access_token") not in self.tokens_issued:
                    return {"errcode": 40001, "errmsg": "invalid credential"}
                code = query.get("js_code", "")
                answer = self.codes.pop(code, None)  # a code works once
                if answer is None:
                    return {"errcode": 40029, "errmsg": "invalid code"}
                return answer
            if path == "/sns/oauth2/access_token":
                if query.get("appid") != self.app_id or query.get("secret") != self.secret:
                    return {"errcode": 40125, "errmsg": "invalid appsecret"}
                openid = self.oauth_codes.pop(query.get("code", ""), None)
                if openid is None:
                    return {"errcode": 40029, "errmsg": "invalid code"}
                return {"access_token": "WEB", "expires_in": 7200, "openid": openid,
                        "refresh_token": "R", "scope": "snsapi_base"}  # fmt: skip
            if path == "/cgi-bin/user/info":
                if query.get("access_token") not in self.tokens_issued:
                    return {"errcode": 40001, "errmsg": "invalid credential"}
                return {"subscribe": 1, "openid": query.get("openid"), "unionid": "U-1"}
        return {"errcode": -1, "errmsg": f"no fake for {path}"}

    def post(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.calls.append((path, query))
            token = query.get("access_token", "")
            if token in self.expired_tokens:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            if token not in self.tokens_issued:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            if path == "/cgi-bin/message/custom/send" and self.custom_errcode is not None:
                errcode, self.custom_errcode = self.custom_errcode, None
                return {"errcode": errcode, "errmsg": "response out of time limit"}
            if path in (
                "/cgi-bin/message/custom/send",
                "/cgi-bin/message/template/send",
                "/cgi-bin/message/subscribe/send",
            ):
                self.sent.append((path, body))
                return {"errcode": 0, "errmsg": "ok", "msgid": len(self.sent)}
        return {"errcode": -1, "errmsg": f"no fake for {path}"}


def start(app_id: str = "wx-test-app", secret: str = "test-secret") -> FakeWeChat:  # noqa: S107
    fake = FakeWeChat(app_id, secret)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            body = json.dumps(fake.answer(parts.path, query)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            body = json.dumps(fake.post(parts.path, query, payload)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    return fake
