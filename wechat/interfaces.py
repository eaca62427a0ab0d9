"""What the hospital needs of WeChat (core.providers, WECHAT_BACKEND): the mini-program's and the
Official Account's API clients, and the Official Account's web authorisation for H5 pages. The
clients are wechatpy's, whose calls the doors and the bot make (code_to_session, user.get,
message.send_text, subscribe messages)."""

from __future__ import annotations

from typing import Any, Protocol


class WeChat(Protocol):
    def mini_program(self) -> Any: ...

    def official_account(self) -> Any: ...

    def web_oauth(self, redirect_uri: str, state: str) -> Any: ...
