"""WeChat as an integration both doors use (DESIGN.md): the outbound API client and the
callback signature, shared by the bot (messages, the Official Account) and web (mini-program
and OAuth sign-in, the demo CLI), so that web/ never imports bot/ (dev/house_rules.py)."""
