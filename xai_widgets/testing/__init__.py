"""Helpers for tests and benchmarks (not needed at run time by widget users).

:mod:`xai_widgets.testing.lab` drives widgets in a real JupyterLab opened in
headless Chromium through Playwright.
"""
