"""Misbehave as settings["mode"] says (contract v1 paths).

ok: a record and an ok status per key, then progress; exit: fail with code 3;
slow: sleep settings["seconds"], then as ok;
sleep: hang; garbage: a records line that is not JSON; stall: finish the first
key, report progress, then hang; whoami: a record per key describing the
sandbox the scraper runs in (uid, capabilities, writable root); random: as ok
with data no other run gives. In any mode, a task with one of the keys in
settings["hang_on"] hangs.
"""

import json
import os
import sys
import time

task = json.load(open("/input/task.json"))
keys = task["keys"] if "keys" in task else [str(k) for k in range(*task["range"])]
mode = task["settings"].get("mode", "ok")


def write_progress(done: int) -> None:
    with open("/output/.progress.tmp", "w") as f:
        json.dump({"done": done, "total": len(keys)}, f)
    os.replace("/output/.progress.tmp", "/output/progress.json")


def sandbox() -> dict:
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    try:
        open("/faulty-root-write", "w").close()
        root_writable = True
    except OSError:
        root_writable = False
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "cap_eff": status["CapEff"].strip(),
        "no_new_privs": status["NoNewPrivs"].strip(),
        "root_writable": root_writable,
    }


if set(keys) & set(task["settings"].get("hang_on", [])):
    time.sleep(3600)
if mode == "exit":
    print("faulty: giving up on purpose", file=sys.stderr)
    sys.exit(3)
if mode == "sleep":
    time.sleep(3600)
if mode == "slow":
    time.sleep(float(task["settings"]["seconds"]))
    mode = "ok"
with open("/output/records.jsonl", "w") as records, open("/output/status.jsonl", "w") as status:
    if mode == "garbage":
        records.write("this is not json\n")
    if mode == "stall":
        records.write(json.dumps({"key": keys[0], "data": {"echo": keys[0]}}) + "\n")
        status.write(json.dumps({"key": keys[0], "ok": True, "reason": None}) + "\n")
        records.flush()
        status.flush()
        write_progress(1)
        time.sleep(3600)
    for key in keys:
        if mode == "ok":
            records.write(json.dumps({"key": key, "data": {"echo": key}}) + "\n")
        if mode == "random":
            data = {"echo": key, "nonce": os.urandom(8).hex()}
            records.write(json.dumps({"key": key, "data": data}) + "\n")
        if mode == "whoami":
            records.write(json.dumps({"key": key, "data": sandbox()}) + "\n")
        status.write(json.dumps({"key": key, "ok": True, "reason": None}) + "\n")
if mode in ("ok", "whoami", "random"):
    write_progress(len(keys))
