"""`seeker export` of a job whose results another Seeker's Channel holds: it says
where they are instead of writing none, run as processes against real Seekers
and Givers."""

from pathlib import Path

from support import egress
from support.api import Grid, catalog_job, submit_and_wait
from support.base import BIN, OPERATOR_TOKEN, run

from seeker.config import SeekerConfig
from seeker.daemon import Seeker


async def test_export_names_the_channel_that_holds_a_loaded_jobs_results(
    grid: Grid, catalog_image: str, demo_site_url: str, tmp_path: Path
) -> None:
    first = await grid(allow_local=(egress.site(demo_site_url),))
    job_id = (await submit_and_wait(first, catalog_job(catalog_image, demo_site_url)))["job_id"]
    state, records = tmp_path / "job.state.jsonl", tmp_path / "records.jsonl"
    code, _, err = await run(
        BIN / "seeker", "state", "dump", "--seeker", first.url, job_id, "-o", state
    )
    assert code == 0, err
    config = SeekerConfig(operator_token=OPERATOR_TOKEN, port=0, data_dir=tmp_path / "second")
    async with Seeker(config) as second:
        cli = (BIN / "seeker", "--seeker", second.url)
        code, _, err = await run(*cli, "state", "load", state)
        assert code == 0, err
        code, out, err = await run(*cli, "export", job_id, "-o", records)
        assert (code, out) == (1, ""), err
        assert err == (
            f"seeker: error: job {job_id}: 4 of its 4 counted results are not in this "
            f"Seeker's Channel ({config.channel_store_url}); its results were also counted "
            f"in the Channel at {first.config.channel_store_url}: export them from a Seeker "
            "that reads that Channel\n"
        )
        assert not records.exists()
    code, out, err = await run(
        BIN / "seeker", "--seeker", first.url, "export", job_id, "-o", records
    )
    assert (code, out) == (0, f"20 records written to {records}\n"), err
