"""Blueprints: ``voters`` (booth, casting), ``board`` (public bulletin board), ``operators``
(console and lifecycle API), ``helpdesk`` (help-desk actions, by the authentication package)."""
