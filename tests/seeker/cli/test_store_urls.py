"""What `seeker run` and `channel serve` say of a MongoDB URL they cannot use:
one line naming what is wrong, run as processes."""

from pathlib import Path

import pytest
from support.base import BIN, free_port, run

pytestmark = pytest.mark.unit


async def test_a_mongodb_url_without_a_database_is_refused_naming_the_form(tmp_path: Path) -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/"
    code, _, err = await run(BIN / "seeker", "run", "--data-dir", tmp_path, "--state", url)
    assert (code, err) == (
        1,
        f"seeker: error: bad state store URL {url!r}: it names no database: "
        "expected mongodb://HOST[:PORT]/DATABASE\n",
    )


@pytest.mark.parametrize(
    ("program", "store"), [("seeker", "--state"), ("seeker", "--store"), ("channel", "--store")]
)
async def test_a_mongodb_that_cannot_be_reached_is_one_readable_line(
    tmp_path: Path, program: str, store: str
) -> None:
    port = free_port()
    url = f"mongodb://127.0.0.1:{port}/seekgive?serverSelectionTimeoutMS=300"
    where = ("run", "--data-dir", tmp_path) if program == "seeker" else ("serve",)
    code, _, err = await run(BIN / program, *where, "--port", "0", store, url)
    assert (code, err) == (
        1,
        f"{program}: error: cannot reach MongoDB at 127.0.0.1:{port}: connection refused\n",
    )
