"""Explorer logic: one module per chapter, pure functions tested over a grid of settings.

The notebooks draw a static figure from these functions first, then put an ipywidgets
control over them (see :mod:`nnlab.widgets`).
"""
