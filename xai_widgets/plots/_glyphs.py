"""Filled outlines of the letters A, C, G and T in a unit box, built once and cached.

Each letter is a list of polygons; each polygon is a list of rings (the exterior first, then
holes), each ring a pair of coordinate arrays in ``[0, 1]``. This is the nesting Bokeh's
``multi_polygons`` glyph expects for one data row.
"""

from __future__ import annotations

from functools import cache

import numpy as np

ARC_SEGMENTS = 14


def _arc_band(start_deg: float, stop_deg: float, outer: tuple[float, float], inner: tuple[float, float]):
    """A ring segment around (0.5, 0.5) between two angles, as one closed outline."""
    angles = np.radians(np.linspace(start_deg, stop_deg, ARC_SEGMENTS + 1))
    xs = np.concatenate([0.5 + outer[0] * np.cos(angles), 0.5 + inner[0] * np.cos(angles[::-1])])
    ys = np.concatenate([0.5 + outer[1] * np.sin(angles), 0.5 + inner[1] * np.sin(angles[::-1])])
    return xs, ys


def _box(x0: float, x1: float, y0: float, y1: float):
    return np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1])


@cache
def letter_polygons() -> dict[str, list[list[tuple[np.ndarray, np.ndarray]]]]:
    """``{base: [polygon: [exterior, *holes]]}`` for A, C, G, T, coordinates in the unit box."""
    a_outline = (np.array([0.0, 0.39, 0.61, 1.0, 0.78, 0.69, 0.31, 0.22]),
                 np.array([0.0, 1.0, 1.0, 0.0, 0.0, 0.26, 0.26, 0.0]))
    a_hole = (np.array([0.37, 0.63, 0.5]), np.array([0.42, 0.42, 0.76]))
    c_band = _arc_band(45, 315, (0.5, 0.5), (0.29, 0.3))
    g_band = _arc_band(45, 360, (0.5, 0.5), (0.29, 0.3))
    t_outline = (np.array([0.0, 1.0, 1.0, 0.6, 0.6, 0.4, 0.4, 0.0]),
                 np.array([1.0, 1.0, 0.82, 0.82, 0.0, 0.0, 0.82, 0.82]))
    letters = {
        "A": [[a_outline, a_hole]],
        "C": [[c_band]],
        "G": [[g_band], [_box(0.52, 1.0, 0.4, 0.56)]],
        "T": [[t_outline]],
    }
    return {base: _fill_unit_box(polygons) for base, polygons in letters.items()}


def _fill_unit_box(polygons):
    """Rescale a letter so that its outline touches all four sides of the unit box."""
    xs = np.concatenate([gx for polygon in polygons for gx, _ in polygon])
    ys = np.concatenate([gy for polygon in polygons for _, gy in polygon])
    return [[((gx - xs.min()) / np.ptp(xs), (gy - ys.min()) / np.ptp(ys)) for gx, gy in polygon]
            for polygon in polygons]
