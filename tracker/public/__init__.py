"""Pages anyone may read without signing in, the same for everyone: the public claims figures.

They set no cookie, may be cached (tracker/security.py: ``PUBLIC_PAGES``) and choose their language from
``?lang=`` or the browser, never from a session.
"""
from tracker.public import routes  # noqa: F401 (attaches the views to bp)
from tracker.public.blueprint import bp

__all__ = ["bp"]
