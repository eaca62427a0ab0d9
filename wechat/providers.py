"""wechat's provider (core.providers): wechatpy against WECHAT_API_BASE (api.weixin.qq.com, or
the local fake in tests and the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import providers, runtime
from core.settings import Settings
from wechat import client
from wechat.interfaces import WeChat


@dataclass(frozen=True)
class WeChatPy:
    """WECHAT_BACKEND=wechatpy: one cached client per AppID, tokens shared through Redis."""

    settings: Settings

    def mini_program(self) -> Any:
        return client.mini_program(self.settings, runtime.current().redis)

    def official_account(self) -> Any:
        cfg = self.settings
        return client.client_for(
            cfg.wechat_oa_app_id, cfg.wechat_oa_app_secret, cfg, runtime.current().redis
        )

    def web_oauth(self, redirect_uri: str, state: str) -> Any:
        return client.web_oauth(self.settings, redirect_uri, state)


def register() -> None:
    providers.register(WeChat, "wechatpy", WeChatPy, setting="wechat_backend")
