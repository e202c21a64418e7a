"""What `seeker run` says of a MongoDB URL it cannot use: one line naming what
is wrong, run as a process."""

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
