"""Misbehave as settings["mode"] says: ok, exit, sleep or garbage (contract v1 paths)."""

import json
import sys
import time

task = json.load(open("/input/task.json"))
keys = task["keys"] if "keys" in task else [str(k) for k in range(*task["range"])]
mode = task["settings"].get("mode", "ok")

if mode == "exit":
    print("faulty: giving up on purpose", file=sys.stderr)
    sys.exit(3)
if mode == "sleep":
    time.sleep(3600)
with open("/output/records.jsonl", "w") as records, open("/output/status.jsonl", "w") as status:
    if mode == "garbage":
        records.write("this is not json\n")
    for key in keys:
        if mode == "ok":
            records.write(json.dumps({"key": key, "data": {"echo": key}}) + "\n")
        status.write(json.dumps({"key": key, "ok": True, "reason": None}) + "\n")
