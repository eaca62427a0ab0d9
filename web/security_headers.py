"""Security headers on every response: a Content-Security-Policy that allows only our own
scripts, styles and forms (no inline script anywhere in the templates), no framing
(clickjacking), no MIME sniffing, and HSTS outside demo mode (the demo runs on plain http)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

from core.settings import Settings


def _origin(url: str) -> str | None:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def content_security_policy(settings: Settings) -> str:
    # The kiosk page asks the ID card reader service beside it; the 人脸核身 form is answered
    # with a redirect to the provider's page.
    connect = " ".join(filter(None, ["'self'", _origin(settings.kiosk_reader_url)]))
    forms = " ".join(filter(None, ["'self'", _origin(settings.faceid_api_base)]))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src {connect}; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        f"form-action {forms}; frame-ancestors 'none'"
    )


def init_app(app: Flask, settings: Settings) -> None:
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(self)",
    }
    if not settings.demo_mode:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    @app.after_request
    def _secure(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
