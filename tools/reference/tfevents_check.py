"""Reads a TensorBoard event file written by @proj/trainer's TfEventsWriter and checks it.

Two independent readers: TensorBoard's own record reader (strict: checks both masked CRC32Cs of
every record) and `EventAccumulator` (what the TensorBoard UI uses) for the scalars, which are
compared with expected.json (float32 tolerance). Writes verdict.json beside the event file.

    npx tsx packages/trainer/test/fixtures/make-tfevents-fixture.ts
    tools/reference/.venv/bin/python tools/reference/tfevents_check.py [fixture dir]
"""

import json
import sys
from pathlib import Path

import tensorboard
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "packages/trainer/test/fixtures/tfevents"


def main():
    fixture_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    files = sorted(fixture_dir.glob("events.out.tfevents.*"))
    if len(files) != 1:
        sys.exit(f"tfevents_check: expected one events.out.tfevents.* in {fixture_dir}, found {len(files)}")
    path = files[0]
    expected = json.loads((fixture_dir / "expected.json").read_text())
    problems = []

    # 1) every record through TensorBoard's CRC-checking reader, parsed as an Event proto
    reader = PyRecordReader_New(str(path))
    events = []
    while True:
        try:
            reader.GetNext()
        except Exception as error:  # OutOfRangeError at a clean end; DataLossError on a bad CRC
            if type(error).__name__ != "OutOfRangeError":
                problems.append(f"record {len(events)}: {type(error).__name__}: {error}")
            break
        event = event_pb2.Event()
        event.ParseFromString(reader.record())
        events.append(event)
    if not events or events[0].file_version != "brain.Event:2":
        problems.append(f"first record's file_version is {events[0].file_version if events else None!r}, not 'brain.Event:2'")

    # 2) the scalars as the TensorBoard UI loads them
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
    acc.Reload()
    scalars = {tag: [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)] for tag in sorted(acc.Tags()["scalars"])}
    if sorted(scalars) != sorted(expected):
        problems.append(f"tags {sorted(scalars)} != expected {sorted(expected)}")
    for tag, rows in expected.items():
        got = scalars.get(tag, [])
        if len(got) != len(rows):
            problems.append(f"{tag}: {len(got)} points, expected {len(rows)}")
            continue
        for (step, value, wall), (gstep, gvalue, gwall) in zip(rows, got):
            # simple_value is a float32: compare with float32 resolution
            if gstep != step or abs(gvalue - value) > 1e-7 * max(1.0, abs(value)) or abs(gwall - wall) > 1e-9:
                problems.append(f"{tag}: got (step {gstep}, {gvalue}, t {gwall}), expected (step {step}, {value}, t {wall})")

    verdict = {
        "ok": not problems,
        "problems": problems,
        "file": path.name,
        "records": len(events),
        "file_version": events[0].file_version if events else None,
        "scalars": scalars,
        "tensorboard_version": tensorboard.__version__,
        "checked_by": "tools/reference/tfevents_check.py",
    }
    (fixture_dir / "verdict.json").write_text(json.dumps(verdict, indent=1) + "\n")
    print(f"tfevents_check: {'OK' if verdict['ok'] else 'FAILED'}: {len(events)} records, {sum(map(len, scalars.values()))} scalars in {path.name}")
    for p in problems:
        print(f"  {p}")
    sys.exit(0 if verdict["ok"] else 1)


if __name__ == "__main__":
    main()
