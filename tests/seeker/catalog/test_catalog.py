"""The scraper catalog: entries read from image labels, settings checked against
their schema, forms generated from it; and, against real Seekers, Givers and
the real built images, `seeker scrapers` and jobs that name a scraper."""

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support import egress
from support.api import Grid, export, submit_and_wait
from support.base import BIN, OPERATOR_HEADERS, OPERATOR_TOKEN, run
from support.docker import build_test_image

from channel.wire import canonical
from seeker.catalog.entries import Resources, Scraper, from_image
from seeker.catalog.forms import describe, form_fields, settings_from_form
from seeker.config import SeekerConfig
from seeker.daemon import Seeker
from seeker.errors import InvalidJob, InvalidScraper

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["token"],
    "properties": {
        "token": {"type": "string", "minLength": 1, "description": "API token"},
        "pages": {"type": "integer", "minimum": 1, "maximum": 50, "default": 3},
        "mode": {"type": "string", "enum": ["fast", "full"], "default": "fast"},
        "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        "ratio": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": None},
        "strict": {"type": "boolean", "default": False, "title": "Strict parsing"},
    },
}
LABELS = {
    "seekgive.settings-schema": canonical.dumps(SCHEMA).decode(),
    "seekgive.contract": "1",
    "seekgive.resources": '{"memory_bytes": 268435456, "cpus": 0.5, "network": true}',
    "org.opencontainers.image.title": "shop",
    "org.opencontainers.image.description": "A shop's pages.",
}


def inspected(labels: dict[str, str], arch: str = "amd64", image_id: str = "sha256:" + "a" * 64):
    return {"Id": image_id, "Architecture": arch, "Size": 1234, "Config": {"Labels": labels}}


def entry(**labels: str) -> Scraper:
    return from_image("shop/pages:1", inspected({**LABELS, **labels}), 100.0)


# Reading labels -----------------------------------------------------------------


def test_an_entry_is_read_from_the_labels() -> None:
    scraper = entry()
    assert (scraper.name, scraper.description, scraper.contract) == ("shop", "A shop's pages.", 1)
    assert scraper.resources == Resources(memory_bytes=268435456, cpus=0.5, network=True)
    assert scraper.schema == SCHEMA
    assert scraper.images() == {"amd64": "shop/pages@sha256:" + "a" * 64}
    assert Scraper.from_wire(canonical.loads(canonical.dumps(scraper.to_wire()))) == scraper


@pytest.mark.parametrize(
    ("labels", "why"),
    [
        ({"seekgive.settings-schema": None}, "no seekgive.settings-schema label"),
        ({"seekgive.settings-schema": "{not json"}, "is not JSON"),
        ({"seekgive.settings-schema": '{"type": 5}'}, "is not a valid JSON Schema"),
        ({"seekgive.settings-schema": '{"type": "array"}'}, "must describe an object"),
        ({"seekgive.contract": "2"}, "seekgive.contract is 2; this Seeker knows contract 1"),
        ({"seekgive.contract": None}, "seekgive.contract is missing"),
        ({"seekgive.resources": '{"cpus": -1}'}, "cpus must be a positive number"),
        ({"org.opencontainers.image.title": None}, "the scraper's name"),
        ({"org.opencontainers.image.title": "x/../../schedules/s1/remove?"}, "lowercase letters"),
        ({"org.opencontainers.image.title": "Shop"}, "lowercase letters"),
        ({"org.opencontainers.image.title": "s" * 64}, "at most 63 characters"),
    ],
)
def test_an_image_with_bad_labels_is_refused_saying_why(
    labels: dict[str, str | None], why: str
) -> None:
    given = {**LABELS, **labels}
    with pytest.raises(InvalidScraper, match=why):
        from_image("shop/pages:1", inspected({k: v for k, v in given.items() if v}), 1.0)


def test_an_unknown_architecture_is_refused() -> None:
    with pytest.raises(InvalidScraper, match="unknown architecture 'vax'"):
        from_image("shop/pages:1", inspected(LABELS, arch="vax"), 1.0)


def test_another_architecture_joins_the_scraper_and_a_changed_schema_does_not() -> None:
    amd64 = entry()
    arm64 = from_image("shop/pages:1-arm", inspected(LABELS, "arm64", "sha256:" + "b" * 64), 2.0)
    both = amd64.with_variant(arm64)
    assert both.arches == ["amd64", "arm64"]
    assert both.images()["arm64"] == "shop/pages@sha256:" + "b" * 64
    changed = entry(**{"seekgive.settings-schema": '{"type": "object"}'})
    with pytest.raises(InvalidScraper, match="declares another schema"):
        both.with_variant(changed)


# Checking settings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({}, "settings.token", "settings.token: is required"),
        ({"token": "t", "pages": 0}, "settings.pages", "0 is less than the minimum of 1"),
        ({"token": "t", "pages": "3"}, "settings.pages", "'3' is not of type 'integer'"),
        ({"token": "t", "mode": "slow"}, "settings.mode", "'slow' is not one of"),
        ({"token": "t", "tags": ["a", 1]}, "settings.tags.1", "1 is not of type 'string'"),
        ({"token": "t", "ratio": 0}, "settings.ratio", "less than or equal to the minimum"),
        ({"token": "t", "colour": "red"}, "settings.colour", "is not a setting of it"),
    ],
)
def test_settings_that_break_the_schema_name_the_field(
    settings: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidJob, match=message) as caught:
        entry().validate(settings)
    assert caught.value.field == field


def test_settings_that_fit_pass() -> None:
    entry().validate({"token": "t", "pages": 50, "mode": "full", "tags": ["x"], "ratio": None})


# Forms ------------------------------------------------------------------------------


def test_a_form_has_a_field_per_setting_in_order() -> None:
    fields = {f.name: f for f in form_fields(SCHEMA)}
    assert list(fields) == ["token", "pages", "mode", "tags", "ratio", "strict"]
    assert fields["token"].required and fields["token"].help == "API token"
    assert (fields["pages"].kind, fields["pages"].bounds) == (
        "integer",
        (("minimum", 1.0), ("maximum", 50.0)),
    )
    assert (fields["mode"].kind, fields["mode"].choices) == ("choice", ("fast", "full"))
    assert (fields["tags"].kind, fields["tags"].item) == ("list", "text")
    assert fields["ratio"].nullable and fields["ratio"].kind == "number"
    assert (fields["strict"].kind, fields["strict"].label) == ("checkbox", "Strict parsing")
    assert describe(fields["pages"].to_wire()) == "pages (integer; >= 1; <= 50; default 3)"
    assert (
        describe(fields["mode"].to_wire()) == 'mode (choice; one of "fast", "full"; default "fast")'
    )


def test_a_filled_form_gives_typed_settings() -> None:
    values = {"token": "t ", "pages": "7", "mode": "full", "tags": "a\n\nb\n", "ratio": ""}
    assert settings_from_form(SCHEMA, {**values, "strict": "on"}) == {
        "token": "t ",
        "pages": 7,
        "mode": "full",
        "tags": ["a", "b"],
        "strict": True,
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"pages": "seven"}, "settings.pages"),
        ({"ratio": "1e"}, "settings.ratio"),
        ({"mode": "slow"}, "settings.mode"),
        ({"colour": "red"}, "settings.colour"),
    ],
)
def test_a_form_value_that_does_not_convert_names_its_field(
    values: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidJob) as caught:
        settings_from_form(SCHEMA, values)
    assert caught.value.field == field


# Against real Seekers and images ------------------------------------------------------


async def api(seeker: Seeker, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession(headers=OPERATOR_HEADERS) as http:
        data = None if body is None else canonical.dumps(body)
        async with http.request(method, f"{seeker.url}/api/v1{path}", data=data) as response:
            return response.status, await response.json()


async def test_the_catalog_scraper_is_added_from_its_built_image(
    store_url: str, tmp_path: Path, catalog_image: str, docker_client: Any
) -> None:
    image = docker_client.images.get(catalog_image)
    config = SeekerConfig(
        operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "seeker", store_url=store_url
    )
    async with Seeker(config) as seeker:
        status, added = await api(seeker, "POST", "/scrapers", {"image": catalog_image})
        assert status == 201, added
        assert added["name"] == "catalog" and added["contract"] == 1
        assert added["arches"] == ["amd64"]
        assert added["variants"] == [
            {
                "arch": "amd64",
                "image": catalog_image,
                "digest": image.id,
                "size_bytes": image.attrs["Size"],
            }
        ]
        assert added["resources"]["network"] is True
        assert added["order"] == [
            "base_url",
            "timeout_s",
            "rate_limit_per_s",
            "key_timeout_s",
        ]
        assert (await api(seeker, "GET", "/scrapers"))[1]["scrapers"] == [added]
    async with Seeker(config) as seeker:
        status, shown = await api(seeker, "GET", "/scrapers/catalog")
        assert (status, {k: v for k, v in shown.items() if k != "form"}) == (200, added)
        assert [f["name"] for f in shown["form"]] == added["order"]
        assert (await api(seeker, "DELETE", "/scrapers/catalog"))[0] == 200
        status, error = await api(seeker, "GET", "/scrapers/catalog")
        assert (status, error["code"]) == (404, "unknown_scraper")


async def test_images_the_catalog_cannot_take_are_refused(
    tmp_path: Path, faulty_image: str
) -> None:
    async with Seeker(
        SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "seeker")
    ) as seeker:
        status, error = await api(seeker, "POST", "/scrapers", {"image": faulty_image})
        assert (status, error["code"]) == (400, "invalid_scraper")
        assert "no seekgive.settings-schema label" in error["message"]
        status, error = await api(seeker, "POST", "/scrapers", {"image": "seekgive-test/none:0"})
        assert (status, error["code"]) == (404, "image_unavailable")
        assert "has no image seekgive-test/none:0" in error["message"]
        status, error = await api(seeker, "POST", "/scrapers", {"images": "x"})
        assert status == 400
        assert (await api(seeker, "GET", "/scrapers"))[1] == {"scrapers": []}


async def test_settings_are_checked_on_submit_naming_the_field(
    tmp_path: Path, catalog_image: str
) -> None:
    async with Seeker(
        SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "seeker")
    ) as seeker:
        assert (await api(seeker, "POST", "/scrapers", {"image": catalog_image}))[0] == 201
        for settings, message in (
            ({"timeout_s": 0}, "settings.timeout_s: 0 is less than or equal to the minimum of 0"),
            ({"timeout_s": "fast"}, "settings.timeout_s: 'fast' is not of type 'number'"),
            ({"base_url": ""}, "settings.base_url: '' should be non-empty"),
            ({"colour": 1}, "settings.colour: is not a setting of it"),
        ):
            body = {"scraper": "catalog", "keys": ["1"], "settings": settings}
            status, error = await api(seeker, "POST", "/jobs", body)
            assert (status, error["code"]) == (400, "invalid_job"), error
            assert message in error["message"]
        status, error = await api(seeker, "POST", "/jobs", {"scraper": "nope", "keys": ["1"]})
        assert status == 400 and "no scraper 'nope' in the catalog" in error["message"]
        assert (await api(seeker, "GET", "/jobs"))[1] == {"jobs": [], "next": None}


async def test_a_job_naming_a_scraper_runs_its_pinned_image(
    grid: Grid, catalog_image: str, demo_site_url: str, docker_client: Any
) -> None:
    seeker = await grid(allow_local=(egress.site(demo_site_url),))
    assert (await api(seeker, "POST", "/scrapers", {"image": catalog_image}))[0] == 201
    job = await submit_and_wait(
        seeker,
        {
            "scraper": "catalog",
            "range": [1, 11],
            "block_size": 5,
            "network": "bridge",
            "settings": {"base_url": demo_site_url},
        },
    )
    image_id = docker_client.images.get(catalog_image).id
    assert job["spec"]["images"] == {"amd64": f"seekgive/catalog@{image_id}"}
    assert job["spec"]["scraper"] == "catalog"
    # The scraper's resources are the job's defaults: 256 MiB.
    assert job["spec"]["limits"]["memory_bytes"] == 256 * 2**20
    records = await export(seeker, job["job_id"])
    assert sorted(int(r["key"]) for r in records) == list(range(1, 11))


async def test_the_scrapers_commands(tmp_path: Path, catalog_image: str) -> None:
    async with Seeker(
        SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "seeker")
    ) as seeker:
        seeker_flag = ("--seeker", seeker.url)
        code, out, err = await run(BIN / "seeker", "scrapers", "list", *seeker_flag)
        assert (code, out) == (0, "no scrapers; add one with `seeker scrapers add IMAGE`\n"), err
        code, out, err = await run(BIN / "seeker", "scrapers", "add", *seeker_flag, catalog_image)
        assert (code, out) == (0, f"catalog: {catalog_image} added (amd64; 4 settings)\n"), err
        code, out, err = await run(BIN / "seeker", "scrapers", "show", *seeker_flag, "catalog")
        assert code == 0, err
        assert "  needs 256 MiB, 1 CPU, 600 s a task, a network\n" in out
        assert "    timeout_s (number; > 0; default 10.0): timeout of each network step\n" in out
        code, out, err = await run(
            BIN / "seeker",
            "submit",
            *seeker_flag,
            "--scraper",
            "catalog",
            "--keys",
            "1",
            "--setting",
            "timeout_s=-1",
        )
        assert code == 1 and "settings.timeout_s" in err
        code, out, err = await run(BIN / "seeker", "scrapers", "remove", *seeker_flag, "catalog")
        assert (code, out) == (0, "catalog: removed from the catalog\n"), err
        code, out, err = await run(BIN / "seeker", "scrapers", "show", *seeker_flag, "catalog")
        assert code == 1 and "no scraper 'catalog' in the catalog" in err


async def test_a_giver_refuses_an_image_of_a_contract_it_does_not_know(
    grid: Grid, docker_client: Any
) -> None:
    image = build_test_image("contract99", "seekgive-test/contract99:1")
    seeker = await grid(givers=1)
    status, job = await api(seeker, "POST", "/jobs", {"image": image, "keys": ["a"]})
    assert status == 201, job
    reason = (
        f"image {image} speaks scraper contract '99' (its seekgive.contract label); "
        "this Giver knows contract 1 only"
    )
    while not job.get("refusals"):
        status, job = await api(seeker, "GET", f"/jobs/{job['job_id']}")
    assert job["refusals"][0]["reason"] == reason
    assert job["keys"]["done"] == 0
