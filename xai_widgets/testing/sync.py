"""Compare the data sources a page's BokehJS holds with the kernel's, column by column."""

from __future__ import annotations

import json
import time
from typing import Any

from .bokehjs import _JS_BOKEH
from .notebook import kernel_value


def _plain(value: Any) -> Any:
    """A data-source column value as JSON-able lists, strings and floats."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return value if value is None or isinstance(value, str) else str(value)


def python_sources(widget: Any) -> str:
    """Every ``ColumnDataSource`` of every Bokeh widget inside ``widget``, as JSON (run in the kernel).

    Finds the Bokeh widgets with :func:`xai_widgets.plots.bokeh_models_in` and returns
    ``{source id: {"name": name, "data": {column: values}}}``, with numbers as floats.
    """
    from bokeh.models import ColumnDataSource

    from ..plots import bokeh_models_in

    found = {}
    for w in bokeh_models_in(widget):
        for model in w._document.models:
            if isinstance(model, ColumnDataSource):
                found[model.id] = {"name": model.name, "data": {k: _plain(v) for k, v in model.data.items()}}
    return json.dumps(found)


def kernel_sources(page: Any, widget_expression: str) -> dict:
    """:func:`python_sources` of the kernel's ``widget_expression`` (e.g. ``"flipper"``)."""
    text = kernel_value(page, "__import__('xai_widgets.testing.lab', fromlist=['lab'])"
                              f".python_sources({widget_expression})")
    return json.loads(text)


def browser_sources(page: Any) -> list[dict]:
    """The data sources of every Bokeh document rendered in the page, one dict per document.

    A document counts when one of its root views is registered in ``Bokeh.index`` and attached
    to the page; each is ``{source id: {"name": name, "data": {column: values}}}`` (typed arrays
    as lists).
    """
    return page.evaluate(
        "() => {" + _JS_BOKEH + """
          const plain = (v) => (v != null && typeof v === "object" && typeof v.length === "number"
                                && typeof v !== "string") ? Array.from(v, plain) : v;
          const docs = [];
          for (const view of xwAllViews()) {
            if (view.parent != null || view.el == null || !view.el.isConnected) continue;
            const doc = view.model?.document;
            if (doc != null && !docs.includes(doc)) docs.push(doc);
          }
          return docs.map((doc) => {
            const out = {};
            for (const m of (doc._all_models?.values?.() ?? doc.all_models ?? [])) {
              if (m.type !== "ColumnDataSource" && m.constructor?.__name__ !== "ColumnDataSource") continue;
              const data = {};
              const entries = m.data instanceof Map ? [...m.data.entries()] : Object.entries(m.data);
              for (const [k, v] of entries) data[k] = plain(v);
              out[m.id] = {name: m.name, data};
            }
            return out;
          });
        }"""
    )


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    import math

    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= atol + rtol * abs(b)
    if a is None and isinstance(b, float) and math.isnan(b):  # NaN serialised as null
        return True
    return a == b


def assert_browser_matches_kernel(page: Any, widget_expression: str, *, views: int = 1, rtol: float = 1e-6,
                                  atol: float = 1e-9, timeout: float = 20) -> dict:
    """Assert that every browser view of a widget holds exactly Python's data sources.

    Polls for up to ``timeout`` seconds, reading the kernel's sources of ``widget_expression``
    (:func:`kernel_sources`) and then the page's at each poll, until exactly ``views`` rendered
    documents hold those sources and each holds every column of every source with Python's
    values (numbers within ``atol + rtol * |python|``, NaN equal to NaN). The kernel is read
    again at each poll because a widget may still be changing (the flipper computes the rest of
    its maps in deferred steps after a click): what must hold is that browser and kernel agree
    once it settles, not that the browser reaches a state the kernel has already left.

    Returns
    -------
    dict
        The kernel's sources, for further checks.

    Raises
    ------
    AssertionError
        Naming the first differing source and column, with the lengths on both sides.
    """
    deadline = time.monotonic() + timeout
    while True:
        expected = kernel_sources(page, widget_expression)
        if not expected:
            raise AssertionError(f"{widget_expression} has no Bokeh data sources in the kernel")
        problems = []
        docs = [d for d in browser_sources(page) if any(sid in d for sid in expected)]
        if len(docs) != views:
            problems.append(f"{len(docs)} rendered views of {widget_expression}, expected {views}")
        for i, doc in enumerate(docs):
            for sid, source in expected.items():
                shown = doc.get(sid)
                if shown is None:
                    problems.append(f"view {i}: no source {source['name'] or sid}")
                    continue
                if set(shown["data"]) != set(source["data"]):
                    problems.append(f"view {i}: {source['name'] or sid} has columns {sorted(shown['data'])}, "
                                    f"Python {sorted(source['data'])}")
                    continue
                for column, values in source["data"].items():
                    if not _same(shown["data"][column], values, rtol, atol):
                        n = len(shown["data"][column]) if isinstance(shown["data"][column], list) else "?"
                        problems.append(f"view {i}: {source['name'] or sid}.{column} differs "
                                        f"(browser {n} values, Python {len(values)})")
        if not problems:
            return expected
        if time.monotonic() > deadline:
            raise AssertionError(f"{widget_expression}: the browser does not show what Python holds:\n  "
                                 + "\n  ".join(problems[:20]))
        page.wait_for_timeout(200)
