"""WeChat Official Account door: webhook, conversation flows, outbound WeChat messages."""
