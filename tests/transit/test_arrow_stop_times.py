"""The trip checks of the pyarrow reader: the whole-block path (_in_order) decides exactly as
the row-by-row loop, whatever the rows, over several blocks."""

from types import SimpleNamespace

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from transit.arrow_stop_times import ArrowStopTimes

TIME = st.one_of(st.none(), st.integers(0, 40))


@st.composite
def rows(draw):
    """Mostly trip-by-trip runs with rising sequences (the common case), then perturbed:
    rows repeated, moved, given times that go backwards or none."""
    out = []
    for trip in draw(st.lists(st.integers(1, 6), max_size=6)):
        seq, clock = draw(st.integers(0, 3)), draw(st.integers(0, 10))
        for _ in range(draw(st.integers(1, 5))):
            seq += draw(st.integers(1, 2))
            clock += draw(st.integers(0, 5))
            arrival = draw(st.one_of(st.just(clock), TIME))
            departure = draw(st.one_of(st.just(arrival), TIME))
            out.append((trip, seq, arrival, departure, draw(st.booleans()) and draw(st.booleans())))
    for _ in range(draw(st.integers(0, 3))):
        if out:
            i, j = draw(st.integers(0, len(out) - 1)), draw(st.integers(0, len(out)))
            how = draw(st.sampled_from(["repeat", "copy", "move"]))
            if how == "repeat":
                out.insert(i + 1, out[i])
            else:
                out.insert(j, out[i] if how == "copy" else out.pop(i))
    return out


def run(blocks, whole_block):
    loader = ArrowStopTimes(SimpleNamespace(v=1, trips={}, stops={}))
    results = []
    for block in blocks:
        trip = pa.array([r[0] for r in block], pa.int64())
        seq = pa.array([r[1] for r in block], pa.int64())
        # arrival/departure coalesced, as _batch gives them
        arrival = pa.array([r[2] if r[2] is not None else r[3] for r in block], pa.int32())
        departure = pa.array([r[3] if r[3] is not None else r[2] for r in block], pa.int32())
        bad = pa.array([r[4] for r in block], pa.bool_())
        problems = {}
        text = pa.array([str(r[2]) for r in block])
        if whole_block and loader._in_order(trip, seq, arrival, departure, bad):
            keep = [not b for b in bad.to_pylist()]
        else:
            keep = loader._row_by_row(
                trip, seq, arrival, departure, bad, problems, text, text
            ).to_pylist()
        results.append((keep, sorted(problems.items())))
    return results, dict(loader.last), loader.needs_interpolation


@settings(max_examples=500, deadline=None)
@given(rows(), st.data())
def test_the_whole_block_path_decides_as_the_row_loop(all_rows, data):
    cuts = data.draw(st.lists(st.integers(0, len(all_rows)), max_size=3))
    bounds = sorted({0, len(all_rows), *cuts})
    blocks = [all_rows[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    assert run(blocks, whole_block=True) == run(blocks, whole_block=False)


def test_a_block_in_trip_order_takes_the_whole_block_path():
    loader = ArrowStopTimes(SimpleNamespace(v=1, trips={}, stops={}))
    ints = lambda values: pa.array(values, pa.int64())  # noqa: E731
    times = lambda values: pa.array(values, pa.int32())  # noqa: E731
    bad = pa.array([False] * 5)
    assert loader._in_order(
        ints([1, 1, 1, 2, 2]),
        ints([1, 2, 3, 1, 2]),
        times([0, 60, None, 5, 9]),
        times([0, 60, None, 5, 9]),
        bad,
    )
    assert loader.last == {1: (3, 60), 2: (2, 9)}
    assert loader.needs_interpolation
    # Trip 1 again, its time going backwards: the block is left to the row loop.
    assert not loader._in_order(ints([1]), ints([4]), times([30]), times([30]), bad[:1])
