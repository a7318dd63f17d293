"""Links that leave the site are absolute, on SITE_URL."""

import pytest

from creditguard.web.links import absolute_url


def test_a_path_becomes_a_link_on_the_site_url(settings):
    settings.SITE_URL = "https://cg.example.com/"

    assert absolute_url("/limits/queue/") == "https://cg.example.com/limits/queue/"


def test_only_a_site_relative_path_is_accepted():
    with pytest.raises(ValueError, match="site-relative"):
        absolute_url("https://elsewhere.example/")
