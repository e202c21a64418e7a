"""The Givers as operators see them: every registered one with its record, the
flagged ones, and those purged lately."""

from typing import Any

from seeker.grid.coordinator import Coordinator


def givers_view(coordinator: Coordinator) -> dict[str, Any]:
    """Every registered Giver with its record, flagged ones, and those purged lately."""
    givers, loads = [], coordinator.keys.loads()
    for view in coordinator.registry.view():
        record = coordinator.trust.get(view["giver_id"])
        givers.append({**view, "leases": loads[view["giver_id"]], **record.to_doc()})
    return {
        "givers": givers,
        "flagged": flagged(coordinator),
        "purged": [
            {"giver_id": p.giver_id, "name": p.name, "at": p.at, "reason": p.reason}
            for p in coordinator.purged
        ],
    }


def flagged(coordinator: Coordinator) -> list[dict[str, Any]]:
    """The records of the Givers flagged for disagreeing."""
    return [r.to_doc() for r in coordinator.trust.records() if r.flagged]
