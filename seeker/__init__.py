"""The Seeker: the coordinator that cuts jobs into blocks of keys, leases them
to Givers, and collects their results from the Channel.

Rooms, each a package whose docstring says what it holds and what it may
import (tests/test_layout.py holds every module to it), from the ground up:
- `state/`: the Seeker's own state store (SQLite or MongoDB).
- `work/`: jobs, their key sources, blocks, leases and the key manager.
- `catalog/`: scraper images, their settings schemas, archives and forms.
- `access/`: operators — tokens, password, sessions, authentication.
- `grid/`: Givers and the coordinator that places work on them.
- `schedules/`: periodic jobs.
- `views/`: read models behind the pages and the API.
- `api/`: the JSON API's routes and its OpenAPI document.
- `pages/`: the API explorer, the docs, and what every HTML page shares.
- `admin/`: the operator's admin pages.
- `front/`: one address in front of Seekers sharing a state store, forwarding to
  the leader.
- `cli/`: the `seeker` command (`cli/run.py` holds the options of `seeker run`).
Loose modules: `errors`, `config`, `startup` (the port and the data dir a Seeker
claims first) and `daemon` (the Seeker, which assembles the rooms); each says
what it may import.

May import: nothing.
"""
