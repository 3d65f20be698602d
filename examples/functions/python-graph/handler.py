#!/usr/bin/python3
"""Breadth-first search and PageRank on a generated graph with igraph (exec runtime).

Event: {"size": vertices (2..100000, default 1000), "seed": integer (default 42),
"source": BFS start vertex (default 0), "top": PageRank vertices to list (default 5)}
The graph is a Barabasi-Albert graph (3 edges per new vertex) drawn from `seed`, so equal
events give equal answers.
Response body: {"vertices", "edges", "bfs": {"reached", "depth", "layer_sizes"},
"pagerank": {"top": [[vertex, score], ...], "sum"}} as JSON. A bad event exits 1 with the
reason on stderr.
"""
import json
import random
import sys

import igraph


def fail(message):
    print(message, file=sys.stderr)
    return 1


def main():
    try:
        event = json.load(sys.stdin)
    except ValueError as e:
        return fail(f"event is not JSON: {e}")
    if not isinstance(event, dict):
        return fail("event must be a JSON object")
    size, seed = event.get("size", 1000), event.get("seed", 42)
    source, top = event.get("source", 0), event.get("top", 5)
    for name, value, low, high in (("size", size, 2, 100000), ("seed", seed, 0, 2**31),
                                   ("top", top, 1, 100)):
        if not isinstance(value, int) or not low <= value <= high:
            return fail(f"`{name}` must be an integer from {low} to {high}")
    if not isinstance(source, int) or not 0 <= source < size:
        return fail("`source` must be a vertex of the graph")

    random.seed(seed)
    igraph.set_random_number_generator(random)
    graph = igraph.Graph.Barabasi(size, 3)

    order, layers, _parents = graph.bfs(source)
    layer_sizes = [layers[i + 1] - layers[i] for i in range(len(layers) - 1)]
    ranks = graph.pagerank()
    best = sorted(range(size), key=lambda v: (-ranks[v], v))[:top]
    json.dump({"vertices": graph.vcount(), "edges": graph.ecount(),
               "bfs": {"reached": len(order), "depth": len(layer_sizes) - 1,
                       "layer_sizes": layer_sizes},
               "pagerank": {"top": [[v, round(ranks[v], 6)] for v in best],
                            "sum": round(sum(ranks), 6)}}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
