"""OpenDP's Python bindings on the DP grouped-counts benchmark (run by scripts/bench-ads.sh).

  PEERS/dp/bin/python scripts/bench-dp-opendp.py EVENTS.csv --scale S --threshold T
      [--epsilon 1.0] [--delta 1e-6] [--max-partitions 4] [--max-per-partition 10]

The same events CSV as PipelineDP's script (header `member_id,group`) and the same query as
Steward's: each member keeps at most --max-partitions groups and --max-per-partition events in
each, integer Laplace counts, and groups released only above a threshold (partition
selection). OpenDP's Polars front end does the work: `truncate_per_group` and
`truncate_num_groups` on the member identifier, then `group_by(...).agg(dp.len())`.

Its Context API would find the noise scale and threshold by binary search over measurements
(about 8 s here, the same for 50,000 or 1,000,000 events). To time what OpenDP does with the
rows rather than that search, the scale and threshold are given (Steward's, printed by its
benchmark) and OpenDP's own privacy map checks that the measurement built with them is
(epsilon, delta)-DP for one member; the script refuses to time it otherwise.

Timed, like PipelineDP and Steward: from in-memory rows to released groups — building the
measurement, running it, collecting the groups. Building the Polars frame from the Python
rows is timed apart (frame_s) and not counted: a frame is OpenDP's natural in-memory input,
as a slice of rows is ours. Prints one JSON line.
Needs polars and pyarrow in the venv (opendp[polars]).
"""
import argparse, csv, json, sys, time

import opendp.prelude as dp
import polars as pl

dp.enable_features("contrib")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--scale", type=float, required=True)
    ap.add_argument("--threshold", type=int, required=True)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--delta", type=float, default=1e-6)
    ap.add_argument("--max-partitions", type=int, default=4)
    ap.add_argument("--max-per-partition", type=int, default=10)
    a = ap.parse_args()
    rows = [(int(m), g) for m, g in csv.reader(open(a.events)) if m != "member_id"]

    t = time.perf_counter()
    frame = pl.DataFrame({"member_id": [r[0] for r in rows], "group": [r[1] for r in rows]})
    frame_s = time.perf_counter() - t

    start = time.perf_counter()
    context = dp.Context.compositor(
        data=frame.lazy(),
        privacy_unit=dp.unit_of(contributions=1, identifier="member_id"),
        privacy_loss=dp.loss_of(epsilon=a.epsilon, delta=a.delta),
        split_evenly_over=1,
    )
    query = (
        context.query()
        .truncate_per_group(a.max_per_partition, by=["group"], keep="first")
        .truncate_num_groups(a.max_partitions, by=["group"], keep="first")
        .group_by("group")
        .agg(dp.len())
    )
    # What LazyFrameQuery.resolve builds once its searches end, with the given parameters.
    plan = object.__getattribute__(query, "polars_plan")
    inner = object.__getattribute__(query, "_query")
    input_domain, input_metric = inner._chain
    measurement = dp.m.make_private_lazyframe(
        input_domain=input_domain,
        input_metric=input_metric,
        output_measure=inner._output_measure,
        lazyframe=plan,
        global_scale=a.scale,
        threshold=a.threshold,
    )
    eps, delta = measurement.map(inner._d_in)
    if eps > a.epsilon * (1 + 1e-9) or delta > a.delta:
        sys.exit(f"opendp: scale {a.scale} / threshold {a.threshold} give ({eps}, {delta}), "
                 f"not ({a.epsilon}, {a.delta})")
    released = measurement(frame.lazy()).collect()
    secs = time.perf_counter() - start
    print(json.dumps({"system": "opendp", "events": len(rows), "groups_released": released.height,
                      "seconds": round(secs, 3), "events_per_s": round(len(rows) / secs),
                      "frame_s": round(frame_s, 3), "privacy_map": [eps, delta]}))


if __name__ == "__main__":
    main()
