"""The outbound WeChat client factory: one wechatpy client per AppID.

Every client caches its access token in Redis (shared by all processes; in memory without
Redis), has explicit timeouts on every request (wechatpy sets none on its token fetch), and
sends every WeChat host to WECHAT_API_BASE when that is set (a local fake in tests, or an
egress proxy), through an adapter mounted on the client's requests session.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from core.settings import Settings

WECHAT_HOSTS = ("https://api.weixin.qq.com",)
DEFAULT_BASE = "https://api.weixin.qq.com"


class WeChatHostAdapter(HTTPAdapter):
    """Rewrites WeChat's host to `base` and gives every request a timeout."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.base = base.rstrip("/")
        self.timeout = timeout

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        url = request.url or ""
        for host in WECHAT_HOSTS:
            if url.startswith(host) and self.base != host:
                request.url = self.base + url[len(host) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


_clients: dict[tuple[str, str], WeChatClient] = {}
_lock = threading.Lock()


def _storage(redis_client: redis.Redis | None) -> Any:
    if redis_client is None:
        return MemoryStorage()
    return RedisStorage(redis_client, prefix="wechatpy")


def client_for(
    app_id: str, secret: str, settings: Settings, redis_client: redis.Redis | None
) -> WeChatClient:
    key = (app_id, settings.wechat_api_base)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = WeChatClient(
                app_id,
                secret,
                session=_storage(redis_client),
                timeout=settings.wechat_timeout_seconds,
            )
            adapter = WeChatHostAdapter(settings.wechat_api_base, settings.wechat_timeout_seconds)
            for host in WECHAT_HOSTS:
                client._http.mount(host, adapter)
            _clients[key] = client
        return client


def mini_program(settings: Settings, redis_client: redis.Redis | None) -> WeChatClient:
    return client_for(settings.wechat_app_id, settings.wechat_app_secret, settings, redis_client)


def forget_clients() -> None:
    """Drop cached clients (settings changed, e.g. between test apps)."""
    with _lock:
        _clients.clear()


def web_oauth(settings: Settings, redirect_uri: str, state: str) -> Any:
    """WeChat web authorisation (snsapi_base) for the Official Account's H5 pages, with the
    same host rewriting and timeouts as the API clients."""
    from wechatpy.oauth import WeChatOAuth

    oauth = WeChatOAuth(
        settings.wechat_oa_app_id,
        settings.wechat_oa_app_secret,
        redirect_uri,
        scope="snsapi_base",
        state=state,
    )
    adapter = WeChatHostAdapter(settings.wechat_api_base, settings.wechat_timeout_seconds)
    for host in WECHAT_HOSTS:
        oauth._http.mount(host, adapter)
    return oauth
