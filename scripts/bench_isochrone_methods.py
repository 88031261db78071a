"""Benchmark: circle15's isochrone polygons against other ways of drawing the same region.

    .venv/bin/python scripts/bench_isochrone_methods.py [--runs 3] [--categories 3]
        [--shared ../shared/data] [--instructions [METHOD ...] [--all] | --breakdown]

Why the Beijing-wide isochrones cost what they cost (issue 14). The reached street lines of
the first ``--categories`` categories of ``bench_coverage.py``'s part 2 (Beijing-wide 2013
network, 5,000 synthetic facilities in 10 categories, 15 minutes at 1 m/s, 50 m either side)
are computed once; then each method turns every category's lines into its polygon on one
thread, in ``--runs`` rounds (each round times every method once, in turn, so a slow spell of
the machine hits all of them). Printed: min / median of the summed time (s), the ratio of
medians to circle15's method, and how far each polygon is from circle15's: the area of their
symmetric difference and the widest sliver of it (radius of the largest circle inside any of
its 20 largest parts, m; the 5 m Hausdorff budget of the issue bounds how far any polygon may
be from the exact union). First, circle15's own time split into its steps.

Differences of tens of percent can be this virtual machine's noise. ``--instructions`` also
counts each method's instructions on the first category with valgrind's callgrind (a child
process that runs the method on a few lines and then on all, minus one that stops after the
few), ``--runs`` times: the machine's speed does not enter. Slow: a few minutes per method and
run (``--all`` adds the slow methods, hours; methods named after ``--instructions`` limit the
counts to circle15's and theirs). ``--breakdown`` instead counts, the same way, how
circle15's instructions split between GEOS's buffer and union and, inside the union, OverlayNG's
stages (noding, the check of the noding, ring building, labelling, clustering); nothing else.

Methods:

- *circle15*: :func:`coverage.reach.isochrone_polygon` (strokes buffered with arcs within 2 m,
  dissolved cluster by cluster by GEOS's disjoint-subset union).
- *cascaded union*: one ``union_all`` of all the buffers.
- *fixed-precision union*: the same on a 0.1 m grid (snap-rounding).
- *2 km tiles*: circle15's tiled dissolve (used from 100,000 vertices) for every category.
- *one buffer of all lines*: a single buffer of one MultiLineString.
- *buffer(0) of all buffers*: the old dissolve idiom on a GeometryCollection.
- *flat caps on strokes ending on a street*: a stroke whose ends lie on another stroke's
  vertex needs no round cap there (the disc around that point is in the other's buffer); fewer
  vertices to dissolve.
- *lines simplified by 1 m*: Douglas-Peucker on the strokes first.
- *faces*: polygonize the reached lines, erode each face by the radius (what of a face is
  farther than 50 m from its edges), buffer the union of the faces and the lines outside them.
- *arcs using the whole 5 m budget*: 2 chords per quarter circle instead of circle15's 3, the
  radius set so that the chords' worst gap inside and GEOS's 1 % input smoothing plus the
  chords' worst bulge outside are equal (4.8 m of the issue's 5 m Hausdorff budget, against
  circle15's 3 m): a sixth fewer vertices to dissolve.
- *2 km tiles joined as a coverage*: the buffers (not the lines) cut exactly at the edges of
  2 km tiles, dissolved tile by tile and joined by GEOS's coverage union, which needs no noding:
  the same region, with fewer levels of binary unions in each tile and no overlay to join them.
- *groups of 32, then tiles as a coverage*: the buffers dissolved first in groups of 32
  neighbours (along a Z-order curve through their centroids), then the groups' polygons cut,
  dissolved and joined as in the previous method: the union's lower levels as circle15's, its
  upper levels (a few large polygons, each binary union re-noding all of them) replaced by the
  tiles.

Without ``../shared/data`` the Huitian sample's categories are used instead (small; the
ratios then say little).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import child_env, header, min_median, timed

from coverage._arrays import concat_ranges
from coverage.constants import DEFAULT_ISOCHRONE_BUFFER_M

# Private helpers of circle15's own method, so every method buffers the same lines by the same
# radius with the same arcs.
from coverage.reach import _buffer_arcs, _bufferable, _dissolve, isochrone_polygon, reach_lines

ROOT = Path(__file__).resolve().parents[1]
BUFFER_M = DEFAULT_ISOCHRONE_BUFFER_M  # what the benchmark's configs use (m either side)


def reached_lines(shared: Path, n_categories: int) -> tuple[str, list[np.ndarray]]:
    """Each category's reached street strokes (after :func:`_bufferable`)."""
    from bench_coverage import CRS, study_inputs, synthetic

    from coverage.config import load_config
    from coverage.inputs import load_inputs
    from coverage.network import load_walk_network
    from coverage.pipeline import analyze

    ways = shared / "osm" / "beijing_osm2013_all_ways.gpkg"
    if ways.exists():
        net = load_walk_network(ways, CRS)
        fac_xy, polys = synthetic(net, 5000, 10, 5000)
        inputs = study_inputs(ways, net, fac_xy, polys)
        label = f"Beijing 2013 whole network, {net.n_nodes:,} nodes"
    else:
        print(f"{ways} not found (pass --shared DIR): the Huitian sample instead")
        inputs = load_inputs(load_config(ROOT / "data" / "huitian" / "area.toml"))
        label = "Huitian sample"
    result = analyze(inputs, isochrones=False)
    out = []
    for key in list(inputs.config.category_keys)[:n_categories]:
        reach = result.reach[key]
        walk_m = inputs.config.category(key).walk_m
        out.append(_bufferable(reach_lines(result.network, reach.node_dist_m, reach.sources,
                                           walk_m)))
    return label, out


RADIUS_M, QUAD_SEGS = _buffer_arcs(BUFFER_M)
# 2 chords per quarter circle: a chord spans at most 3 pi / 16, its midpoint at r cos(3 pi / 16);
# r (1.01 + cos) = 2 BUFFER_M balances that gap against the bulge r - BUFFER_M + 0.01 r outside.
COARSE_RADIUS_M = 2.0 * BUFFER_M / (1.01 + math.cos(3.0 * math.pi / 16.0))


def buffers(lines: np.ndarray, cap_style: str = "round") -> np.ndarray:
    return shapely.buffer(lines, RADIUS_M, quad_segs=QUAD_SEGS, cap_style=cap_style)


def ends_on_a_stroke(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each line's first / last point is an inner vertex of some line."""
    xy, which = shapely.get_coordinates(lines, return_index=True)
    first = np.r_[True, which[1:] != which[:-1]]
    last = np.r_[which[1:] != which[:-1], True]
    points = xy[:, 0] + 1j * xy[:, 1]  # one comparable value per point
    on_stroke = np.isin(points, points[~(first | last)])
    return on_stroke[first], on_stroke[last]


def flat_caps(lines: np.ndarray) -> shapely.Geometry:
    a, b = ends_on_a_stroke(lines)
    both = a & b
    return _dissolve(np.concatenate([buffers(lines[both], "flat"), buffers(lines[~both])]))


def faces(lines: np.ndarray) -> shapely.Geometry:
    """The union of faces minus their eroded cores, plus the buffers of the lines off faces.

    A point in a face is within the radius of the lines iff it is within it of the face's own
    edges or of a line inside the face (any other line is behind an edge); a point outside all
    faces iff within it of their outline or of a line outside them.
    """
    noded = shapely.get_parts(shapely.union_all(lines))
    polys, cuts, dangles, invalid = shapely.polygonize_full(noded)
    polys = shapely.get_parts(polys)
    loose = np.concatenate([shapely.get_parts(g) for g in (cuts, dangles, invalid)])
    if len(polys) == 0:
        return _dissolve(buffers(loose))
    covered = shapely.buffer(shapely.coverage_union_all(polys), RADIUS_M, quad_segs=QUAD_SEGS)
    cores = shapely.buffer(polys, -RADIUS_M, quad_segs=QUAD_SEGS)
    cores = cores[~shapely.is_empty(cores)]
    if len(cores):
        covered = shapely.difference(covered, shapely.union_all(cores))
    return _dissolve(np.concatenate([shapely.get_parts(covered), buffers(loose)]))


def grid_crossings(p: np.ndarray, q: np.ndarray, tile_m: float,
                   axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where segments ``p -> q`` cross the grid lines ``coord[axis] = k tile_m`` (strictly
    between their ends): segment index, position along it (0-1) and point. The point is computed
    from the segment's lower end whichever way the segment runs, so it is the same for both
    tiles beside the line."""
    lo, hi = np.minimum(p[:, axis], q[:, axis]), np.maximum(p[:, axis], q[:, axis])
    k0, k1 = np.floor(lo / tile_m) + 1, np.ceil(hi / tile_m) - 1
    n = np.maximum(k1 - k0 + 1, 0).astype(np.intp)
    seg = np.repeat(np.arange(len(p)), n)
    line = concat_ranges(k0, n) * tile_m
    forward = (p[:, axis] <= q[:, axis])[seg, None]
    a, b = np.where(forward, p[seg], q[seg]), np.where(forward, q[seg], p[seg])
    other = 1 - axis
    xy = np.empty((len(seg), 2))
    xy[:, axis] = line
    xy[:, other] = a[:, other] + (b[:, other] - a[:, other]) * (
        (line - a[:, axis]) / (b[:, axis] - a[:, axis]))
    return seg, (line - p[seg, axis]) / (q[seg, axis] - p[seg, axis]), xy


def tiles_as_coverage(lines: np.ndarray, tile_m: float = 2000.0) -> shapely.Geometry:
    """The lines' buffers cut exactly at the tile edges, dissolved tile by tile, tiles joined as
    a coverage (:func:`join_in_tiles`)."""
    return join_in_tiles(buffers(lines), tile_m)


def join_in_tiles(polys: np.ndarray, tile_m: float) -> shapely.Geometry:
    """The union of ``polys``: cut exactly at the tile edges, dissolved tile by tile, the tiles
    joined as a coverage.

    Every outline first gets a vertex wherever it crosses a grid line, so both tiles beside a
    line clip it at the same points and their dissolved parts meet edge to edge: GEOS's coverage
    union joins them without noding. The same region as circle15's; fewer levels of binary unions
    per tile.
    """
    rings, ring_polygon = shapely.get_rings(polys, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    starts = np.flatnonzero(ring[1:] == ring[:-1])  # each segment's first vertex
    found = [grid_crossings(xy[starts], xy[starts + 1], tile_m, axis) for axis in (0, 1)]
    seg = np.concatenate([f[0] for f in found])
    order = np.lexsort((np.concatenate([np.zeros(len(xy)), *[f[1] for f in found]]),
                        np.concatenate([np.arange(len(xy)), starts[seg]])))
    rings = shapely.linearrings(np.concatenate([xy, *[f[2] for f in found]])[order],
                                indices=np.concatenate([ring, ring[starts[seg]]])[order])
    polys = shapely.polygons(rings, indices=ring_polygon)
    bounds = np.floor(shapely.bounds(polys) / tile_m).astype(np.int64)
    ni, nj = bounds[:, 2] - bounds[:, 0] + 1, bounds[:, 3] - bounds[:, 1] + 1
    which = np.repeat(np.arange(len(polys)), ni * nj)
    k = concat_ranges(np.zeros(len(polys)), ni * nj)  # each tile's place in its buffer's range
    ti, tj = bounds[which, 0] + k % ni[which], bounds[which, 1] + k // ni[which]
    one_tile = (ni * nj == 1)[which]
    pieces = polys[which].copy()
    pieces[~one_tile] = shapely.lib.clip_by_rect(  # the ufunc: shapely's wrapper takes scalars
        pieces[~one_tile], *(v[~one_tile] * tile_m for v in (ti, tj, ti + 1, tj + 1)))
    keep = (shapely.get_type_id(pieces) >= 3) & ~shapely.is_empty(pieces)
    pieces, tile = pieces[keep], (ti * (1 << 32) + tj)[keep]
    order = np.argsort(tile, kind="stable")
    pieces, tile = pieces[order], tile[order]
    cut = np.r_[0, np.flatnonzero(np.diff(tile)) + 1, len(tile)]
    parts = shapely.get_parts(np.array([_dissolve(pieces[a:b])
                                        for a, b in pairwise(cut)],
                                       dtype=object))
    return shapely.coverage_union_all(parts[shapely.get_type_id(parts) == 3])


def morton_order(polys: np.ndarray) -> np.ndarray:
    """The order of ``polys`` along a Z-order (Morton) curve through their centroids: neighbours
    on the curve are mostly neighbours on the ground."""
    xy = shapely.get_coordinates(shapely.centroid(polys))
    q = ((xy - xy.min(axis=0)) / (np.ptp(xy, axis=0) + 1.0) * 65535).astype(np.uint64)

    def spread(v: np.ndarray) -> np.ndarray:
        for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v
    return np.argsort(spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1)), kind="stable")


def groups_then_tiles(lines: np.ndarray, group: int = 32,
                      tile_m: float = 2000.0) -> shapely.Geometry:
    """The buffers dissolved in groups of ``group`` neighbours along a Z-order curve, then the
    groups' polygons joined by :func:`join_in_tiles`: the lower levels of the union as
    circle15's, the upper ones (few, large polygons) tile by tile."""
    polys = buffers(lines)
    n = len(polys)
    padded = np.full(-(-n // group) * group, None, dtype=object)
    padded[:n] = polys[morton_order(polys)]
    grouped = shapely.get_parts(shapely.disjoint_subset_union_all(padded.reshape(-1, group),
                                                                  axis=1))  # None pads
    return join_in_tiles(grouped, tile_m)


METHODS = {
    "circle15": lambda lines: isochrone_polygon(lines, BUFFER_M, threads=1),
    "cascaded union": lambda lines: shapely.union_all(buffers(lines)),
    "fixed-precision union": lambda lines: shapely.union_all(buffers(lines), grid_size=0.1),
    "2 km tiles": lambda lines: isochrone_polygon(lines, BUFFER_M, tiled_from=0, threads=1),
    "one buffer of all lines": lambda lines: shapely.buffer(
        shapely.multilinestrings(lines), RADIUS_M, quad_segs=QUAD_SEGS),
    "buffer(0) of all buffers": lambda lines: shapely.buffer(
        shapely.geometrycollections(buffers(lines)), 0),
    "flat caps on strokes ending on a street": flat_caps,
    "lines simplified by 1 m": lambda lines: _dissolve(buffers(_bufferable(
        shapely.simplify(lines, 1.0, preserve_topology=False)))),
    "faces": faces,
    "arcs using the whole 5 m budget": lambda lines: _dissolve(
        shapely.buffer(lines, COARSE_RADIUS_M, quad_segs=2)),
    "2 km tiles joined as a coverage": tiles_as_coverage,
    "groups of 32, then tiles as a coverage": groups_then_tiles,
}


def map_categories(method: Callable[[np.ndarray], shapely.Geometry],
                   per_category: list[np.ndarray]) -> list[shapely.Geometry]:
    return [method(lines) for lines in per_category]


def widest_sliver(a: shapely.Geometry, b: shapely.Geometry) -> tuple[float, float]:
    """Area of the symmetric difference (m2) and the widest of its 20 largest parts (m)."""
    diff = shapely.get_parts(shapely.symmetric_difference(a, b))
    diff = diff[(shapely.get_type_id(diff) == 3) & ~shapely.is_empty(diff)]
    if len(diff) == 0:
        return 0.0, 0.0
    largest = diff[np.argsort(-shapely.area(diff))[:20]]
    return float(shapely.area(diff).sum()), float(
        shapely.length(shapely.maximum_inscribed_circle(largest)).max())


WARM_UP_LINES = 20
"""Lines a child first runs the method on, in both counts (its imports and first-call set-up)."""

SLOW = ("fixed-precision union", "one buffer of all lines", "buffer(0) of all buffers")
"""Left out of ``--instructions`` unless ``--all`` (several times slower by the clock already, and
each minute of theirs is an hour under callgrind)."""


STAGES = {
    "buffer (GEOS buffer of each stroke)": "GEOSBufferWithParams_r",
    "union (GEOS disjoint-subset union)": "GEOSDisjointSubsetUnion_r",
    "  noding the overlays' edges": "geos::operation::overlayng::EdgeNodingBuilder::node",
    "    of which checking that noding": "geos::noding::ValidatingNoder::validate",
    "  building rings, placing holes": "geos::operation::overlayng::OverlayNG::extractResult",
    "  labelling the overlay graph": "geos::operation::overlayng::OverlayNG::labelGraph",
    "  finding the overlapping clusters":
        "geos::operation::cluster::AbstractClusterFinder::cluster",
}
"""``--breakdown``: circle15's steps, by the GEOS function each is inclusive of (C API entry points,
then OverlayNG's own stages inside the union)."""


def instructions(lines_file: Path, method: str, *, warm_up_only: bool = False,
                 functions: tuple[str, ...] = ()) -> tuple[int, dict[str, int]]:
    """Instructions of a child process that loads the lines and runs ``method`` (callgrind):
    the total, and the inclusive count of each of ``functions`` (0 if never called)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "--child-lines", str(lines_file),
                        "--child-method", method, *(["--child-warm-up-only"] * warm_up_only)],
                       check=True, capture_output=True,
                       env={**child_env(ROOT), "PYTHONHASHSEED": "0"})
        totals = [ln for ln in out.read_text().splitlines() if ln.startswith("totals:")]
        counts = dict.fromkeys(functions, 0)
        if functions:
            # --threshold=100: every function, however small (the warm-up child's are).
            listing = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                                      str(out)], check=True, capture_output=True, text=True).stdout
            for line in listing.splitlines():
                # " 3,292,620,064 (51.92%)  ???:GEOSDisjointSubsetUnion_r [/path/libgeos_c.so]"
                count, _, rest = line.strip().partition(" ")
                name = rest.partition(":")[2].split("(")[0].split(" [")[0]
                if name in counts and count.replace(",", "").isdigit():
                    counts[name] = max(counts[name], int(count.replace(",", "")))
        return int(totals[0].split()[1]), counts


@contextlib.contextmanager
def lines_file_of(lines: np.ndarray) -> Iterator[Path]:
    """A temporary file holding ``lines`` for the callgrind children."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.npy"
        np.save(path, shapely.to_wkb(lines), allow_pickle=True)
        yield path


def method_instructions(lines_file: Path, method: str,
                        functions: tuple[str, ...] = ()) -> tuple[float, dict[str, float]]:
    """Instructions (G) of ``method`` on all the lines: a child that runs it on a few lines, then
    on all of them, minus one that stops after the few (start-up, loading, the imports and set-up
    of a first call), so the machine's speed does not enter; the same for each of ``functions``."""
    total, counts = instructions(lines_file, method, functions=functions)
    total0, counts0 = instructions(lines_file, method, warm_up_only=True, functions=functions)
    return (total - total0) / 1e9, {f: (counts[f] - counts0[f]) / 1e9 for f in functions}


def breakdown(per_category: list[np.ndarray], runs: int) -> None:
    """Print where circle15's instructions go on the first category, min / median of ``runs``."""
    print(f"\nwhere circle15's instructions go, first category ({len(per_category[0]):,} strokes;"
          f" callgrind, G, min / median of {runs} runs; share of the total's median)")
    functions = tuple(STAGES.values())
    rows: dict[str, list[float]] = {name: [] for name in ("total", *STAGES)}
    with lines_file_of(per_category[0]) as lines_file:
        for _ in range(max(1, runs)):
            total, counts = method_instructions(lines_file, "circle15", functions)
            rows["total"].append(total)
            for name, function in STAGES.items():
                rows[name].append(counts[function])
    whole = float(np.median(rows["total"]))
    for name, counts_g in rows.items():
        missing = "  (no such function in this GEOS build)" if max(counts_g) <= 0 else ""
        print(f"{name:<42} {min_median(counts_g):>16} "
              f"{float(np.median(counts_g)) / whole:>6.1%}{missing}", flush=True)


def count_instructions(per_category: list[np.ndarray], methods: list[str], runs: int) -> None:
    """Print each method's instructions on the first category (:func:`method_instructions`),
    min / median of ``runs`` (the counts still differ a little from run to run)."""
    print(f"\ninstructions on the first category ({len(per_category[0]):,} strokes; callgrind, "
          f"G, min / median of {runs} runs; ratio of medians)")
    with lines_file_of(per_category[0]) as lines_file:
        base = 0.0
        for name in methods:
            counts = [method_instructions(lines_file, name)[0] for _ in range(max(1, runs))]
            base = base or float(np.median(counts))
            print(f"{name:<42} {min_median(counts):>16} {float(np.median(counts)) / base:>6.3f}",
                  flush=True)


def child(lines_file: Path, method: str, warm_up_only: bool) -> None:
    lines = shapely.from_wkb(np.load(lines_file, allow_pickle=True))
    METHODS[method](lines[:WARM_UP_LINES])
    if not warm_up_only:
        METHODS[method](lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--categories", type=int, default=3)
    ap.add_argument("--instructions", nargs="*", metavar="METHOD",
                    help="also count each method's instructions with valgrind's callgrind (only "
                         "circle15's and the METHODs named, if any: quote names with spaces)")
    ap.add_argument("--all", action="store_true", help="with --instructions: the slow ones too")
    ap.add_argument("--breakdown", action="store_true",
                    help="only count where circle15's instructions go, step by step (callgrind)")
    ap.add_argument("--child-lines", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-method", help=argparse.SUPPRESS)
    ap.add_argument("--child-warm-up-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    unknown = [m for m in args.instructions or () if m not in METHODS]
    if unknown:
        ap.error(f"no method {', '.join(map(repr, unknown))}; methods: {', '.join(METHODS)}")
    if args.child_lines:
        child(args.child_lines, args.child_method, args.child_warm_up_only)
        return 0
    if (args.instructions is not None or args.breakdown) and shutil.which("valgrind") is None:
        ap.error("--instructions and --breakdown need valgrind (Debian: apt-get install valgrind)")
    print(header("bench_isochrone_methods: isochrone polygons, circle15 vs other methods",
                 ("shapely",)))
    print(f"GEOS {'.'.join(map(str, shapely.geos_version))}; one thread; times in seconds, "
          f"min / median of {args.runs} rounds, summed over the categories")
    label, per_category = reached_lines(args.shared, args.categories)
    print(f"{label}: {len(per_category)} categories, "
          f"{sum(map(len, per_category)):,} strokes, "
          f"{sum(int(shapely.get_num_coordinates(x).sum()) for x in per_category):,} vertices")
    if args.breakdown:
        breakdown(per_category, args.runs)
        return 0

    print("\ncircle15's steps")
    steps = {
        "buffer": lambda: [buffers(x) for x in per_category],
        "dissolve (buffer + union)": lambda: [_dissolve(buffers(x)) for x in per_category],
    }
    for name, step in steps.items():
        times, _ = timed(step, args.runs)
        print(f"  {name:<28} {min_median(times)}")

    # Round-robin: each round times every method once, so a slow spell of the machine (this
    # virtual machine's speed drifts by tens of percent within minutes) hits all of them.
    rounds: dict[str, list[float]] = {name: [] for name in METHODS}
    polygons: dict[str, list[shapely.Geometry]] = {}
    for _ in range(max(1, args.runs)):
        for name, method in METHODS.items():
            took, polygons[name] = timed(partial(map_categories, method, per_category), 1)
            rounds[name] += took
    base = float(np.median(rounds["circle15"]))
    print(f"\n{'method':<42} {'min / median s':>16} {'ratio':>6} {'symdiff m2':>11} "
          f"{'widest m':>9}")
    for name in METHODS:
        gaps = [widest_sliver(p, r)
                for p, r in zip(polygons[name], polygons["circle15"], strict=True)]
        print(f"{name:<42} {min_median(rounds[name]):>16} "
              f"{float(np.median(rounds[name])) / base:>6.2f} "
              f"{sum(g[0] for g in gaps):>11,.0f} {max(g[1] for g in gaps):>9.2f}")
    if args.instructions is not None:
        named = ["circle15", *(m for m in args.instructions if m != "circle15")]
        count_instructions(per_category, named if args.instructions else
                           [m for m in METHODS if args.all or m not in SLOW], args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
