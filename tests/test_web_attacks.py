"""The hardening issue's attacks through raw HTTP (benchmarks/attacks.py, which the load script also
runs), against the app with its default limits, off a Space and as on one (SYSTEM=spaces)."""

import pytest
from attacks import (
    big_bodies,
    big_png,
    direct_routes,
    file_route_urls,
    forwarded_headers,
    many_entry_zip,
    parallel_estimates,
    upload_flood,
    zip_references,
)

from conftest import photos, running_app
from gfpgan_core.web.settings import Limits

pytestmark = pytest.mark.slow
DEFAULTS = Limits()


@pytest.fixture(scope="module", params=["off a Space", "SYSTEM=spaces"])
def server(request, tmp_path_factory):
    env = {
        "GFPGAN_CALLS_PER_MINUTE": str(DEFAULTS.calls_per_minute),  # the defaults, not the tests' own
        "GFPGAN_CACHE_EXAMPLES": "0",
        **({"SYSTEM": "spaces"} if request.param == "SYSTEM=spaces" else {}),
    }
    with running_app(tmp_path_factory.mktemp("attacks"), env=env) as app:
        yield app


def test_eight_parallel_estimates_on_a_32_mp_png_add_under_500_mb(server, tmp_path):
    """They were unqueued full decodes in float: eight added 5.9 GB."""
    report = parallel_estimates(server.url, server.pid, big_png(tmp_path / "big.png"), calls=8)
    assert report["statuses"] == [200] * 8, report
    assert report["estimates_given"] >= 1 and "faces found" in report["first_estimate"], report
    assert report["added_mb"] < 500, report


def test_the_direct_routes_run_fetch_and_write_nothing(server):
    report = direct_routes(server.url, photos("hq_photos", 1)[0], server.cache_dir / "gfpgan-results")
    routes = {k: v for k, v in report.items() if "(" in k}
    assert all(status in (400, 404) and seconds < 2 for status, seconds in routes.values()), report
    assert report["fetched"] == [] and report["results_written"] == 0, report


def test_rotating_forwarded_headers_from_an_untrusted_peer_get_the_same_refusals(server):
    report = forwarded_headers(server.url, photos("hq_photos", 1)[0], DEFAULTS.calls_per_minute + 3)
    assert report["statuses"] == [200] * DEFAULTS.calls_per_minute + [429] * 3, report


def test_a_zip_named_twelve_times_is_refused_within_two_seconds(server, tmp_path):
    """One 22 MB ZIP of 240,000 entries, named 12 times, held the only worker 38.7 s."""
    report = zip_references(server.url, many_entry_zip(tmp_path / "many.zip"), times=12)
    assert report["event"] == "error" and "240000 entries" in report["message"], report
    assert report["seconds"] < 2, report


def test_bodies_on_every_post_route_are_capped_before_they_are_read(server):
    report = big_bodies(server.url, server.pid)
    assert all(answer.startswith("HTTP/1.1 413") for answer in report["answers"].values()), report
    assert report["added_mb"] < 50, report


def test_an_upload_flood_gets_its_share_and_no_more(server):
    report = upload_flood(server.url, DEFAULTS.uploads_per_minute + 10)
    assert report == {"uploads": 40, "accepted": 30, "refused_429": 10}


def test_the_file_route_relays_no_url(server):
    report = file_route_urls(server.url)
    assert set(report["statuses"].values()) == {404} and report["fetched"] == [], report
