"""Both store factories open a backend from a URL through one `from_url`."""

from pathlib import Path

import pytest

from channel.errors import BadStoreUrl
from channel.store.factory import from_url, open_channel, store_name
from seeker.errors import BadStateUrl
from seeker.state.factory import open_state

pytestmark = pytest.mark.unit


class Backend:
    """A store that records how it was made, opened and closed."""

    def __init__(self, where: object, *, fails: bool = False) -> None:
        self.where, self.fails, self.opened, self.closed = where, fails, False, False

    async def _open(self) -> None:
        if self.fails:
            raise ConnectionError("the store does not answer")
        self.opened = True

    async def close(self) -> None:
        self.closed = True


class BadUrl(Exception):
    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"{url}: {why}")


async def test_the_scheme_picks_the_backend_and_the_store_is_opened() -> None:
    sqlite = await from_url("sqlite:///data/s.db", sqlite=Backend, mongo=Backend, bad_url=BadUrl)
    assert (sqlite.where, sqlite.opened) == (Path("data/s.db"), True)
    for url in ("mongodb://db/x", "mongodb+srv://cluster/x"):
        mongo = await from_url(url, sqlite=Backend, mongo=Backend, bad_url=BadUrl)
        assert (mongo.where, mongo.opened) == (url, True)


@pytest.mark.parametrize(
    ("url", "why"),
    [("sqlite:///", "no file path"), ("postgres://db/x", "expected sqlite:///PATH")],
)
async def test_a_url_of_no_backend_is_refused_in_the_callers_error(url: str, why: str) -> None:
    with pytest.raises(BadUrl, match=why):
        await from_url(url, sqlite=Backend, mongo=Backend, bad_url=BadUrl)


@pytest.mark.parametrize(
    "url",
    [
        "mongodb://db",
        "mongodb://db:27017/",
        "mongodb://db/?replicaSet=rs0",
        "mongodb+srv://cluster",
    ],
)
async def test_a_mongodb_url_without_a_database_is_refused_naming_the_form(url: str) -> None:
    with pytest.raises(BadUrl) as refused:
        await from_url(url, sqlite=Backend, mongo=Backend, bad_url=BadUrl)
    assert str(refused.value) == (
        f"{url}: it names no database: expected mongodb://HOST[:PORT]/DATABASE"
    )


async def test_a_store_that_fails_to_open_is_closed_before_the_error_goes_on() -> None:
    made: list[Backend] = []

    def failing(path: Path) -> Backend:
        made.append(Backend(path, fails=True))
        return made[-1]

    with pytest.raises(ConnectionError):
        await from_url("sqlite:///s.db", sqlite=failing, mongo=Backend, bad_url=BadUrl)
    assert [(b.opened, b.closed) for b in made] == [(False, True)]


async def test_the_channel_and_the_state_store_name_their_own_error() -> None:
    with pytest.raises(BadStoreUrl, match="expected sqlite"):
        await open_channel("redis://db")
    with pytest.raises(BadStateUrl, match="expected sqlite"):
        await open_state("redis://db")


def test_a_store_is_named_without_secrets_and_a_sqlite_file_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert store_name("sqlite:///data/c.db") == f"sqlite:///{tmp_path}/data/c.db"
    assert store_name("sqlite:////var/c.db") == "sqlite:////var/c.db"
    assert (
        store_name("mongodb://u:p%40ss@h1:1,h2:2/db?authSource=admin") == "mongodb://h1:1,h2:2/db"
    )
