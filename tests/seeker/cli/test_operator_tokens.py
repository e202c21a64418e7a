"""`seeker operator token`, run as processes against a real Seeker: the token a
command sends is not revoked by that command unless it insists."""

import pytest
from support.base import BIN, run

from seeker.daemon import Seeker


async def test_a_command_does_not_revoke_the_token_it_sends_unless_forced(
    seeker: Seeker, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = (BIN / "seeker", "--seeker", seeker.url, "operator", "token")
    code, token, err = await run(*cli, "issue", "--label", "laptop")
    assert code == 0, err
    token_id = err.split()[2].rstrip(":")
    other_code, _, err = await run(*cli, "issue", "--label", "prometheus")
    assert other_code == 0, err
    monkeypatch.setenv("SEEKGIVE_TOKEN", token.strip())

    code, out, err = await run(*cli, "revoke", token_id)
    assert (code, out) == (1, "")
    assert err == (
        f"seeker: error: operator token {token_id} is the one this request is authenticated "
        "with: revoking it locks you out (other ways in: the fixed token, 1 other operator "
        'token); to revoke it anyway, use --force (in the API, the body {"force": true})\n'
    )
    code, out, err = await run(*cli, "list")
    assert code == 0 and f"{token_id} active 'laptop'" in out, err

    code, out, err = await run(*cli, "revoke", "--force", token_id)
    assert (code, out.split(":")[0]) == (0, f"{token_id} revoked 'laptop'"), err
    code, _, err = await run(*cli, "list")
    assert code == 1 and "this needs an operator" in err
