"""A guideline as a graphviz SVG flowchart, optionally with one case's walk drawn on it.

Stable ids on the SVG elements, so that tools and tests can address them:

* ``node-<node id>`` for every node of the guideline (a ``<g>`` element);
* ``edge-<from>-<to>`` for every branch, ``otherwise`` and ``next`` edge. When two edges of
  a guideline join the same pair of nodes (two branches of one decision to the same target),
  the second gets ``-2``, the third ``-3``, ... in the order of the YAML: for each node,
  its branches in order, then ``otherwise``, then ``next``;
* ``cluster-<flowchart id>`` for the box around each flowchart;
* ``jump-<node id>``: when one flowchart is drawn alone, a small stand-in for a target that
  lies in another flowchart;
* ``legend`` and, with a case, ``case-panel`` (the side panel with derived facts and alerts).

With a case (an :class:`Overlay` built from a run result), classes mark the walk:
``on-path`` (nodes and edges walked), ``off-path`` (dimmed), ``stopped`` (the decision where
the walk stopped for missing facts), ``evaluated`` (a branch tested on the path but not
taken). All text reaching the SVG is escaped; the output is deterministic (the graphviz
version comment is stripped) so committed SVGs can be compared with fresh renders.

graphviz is imported inside the functions that draw. The modules: :mod:`.overlay` (edge ids
and the case overlay), :mod:`.draw` (the graphviz graphs and the SVG), :mod:`.files` (the
committed set in flowcharts/ and helpers that read SVG text).
"""

from .draw import FONT, render_svg, safe_url, side_dot, to_dot
from .files import flowchart_files, nodes_with_class, strip_xml_prolog, svg_ids
from .overlay import EdgeRef, Overlay, edge_refs, overlay_from_result

__all__ = [
    "EdgeRef",
    "Overlay",
    "edge_refs",
    "overlay_from_result",
    "to_dot",
    "side_dot",
    "render_svg",
    "svg_ids",
    "nodes_with_class",
    "strip_xml_prolog",
    "safe_url",
    "flowchart_files",
    "FONT",
]
