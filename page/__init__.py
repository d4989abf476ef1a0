"""The page's sections, each a module; ``app.py`` is the frame that lays them out.

- ``labels``: every name a visitor reads for a model, a runtime or a mode, from one place;
- ``session``: the process's stylizer, start-up, a visitor moved between page processes, and
  errors as a visitor reads them;
- ``controls``: the photo, the style, the options and the sizes;
- ``photo``: painting the photo and showing the result;
- ``compare``: the model variants measured side by side;
- ``webcam``: the live camera and its figures.

No model code lives here: every image, figure and timing comes from the ``stylize`` library.
"""
