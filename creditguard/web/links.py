"""Links that leave the site (e-mails, webhook payloads): absolute, on `SITE_URL`."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """`path` (site-relative, as `reverse` returns it) as an absolute URL on `SITE_URL`."""
    if not path.startswith("/"):
        raise ValueError(f"expected a site-relative path starting with '/', got {path!r}")
    return settings.SITE_URL.rstrip("/") + path
